// The one Neutron answer the real Ironic needs for nodes with network_interface=flat: the flat
// interface validates by looking up the cleaning network, before every VIF attach and detach.
// Attaching to an address-less portgroup and detaching from a node that is not active call
// nothing else, so this stand-in is enough to see Ironic's own VIF errors (VifAlreadyAttached,
// VifNotAttached, NoFreePhysicalPorts) without a real Neutron.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeNeutron {
  url: string;
  close(): Promise<void>;
}

export async function startFakeNeutron(): Promise<FakeNeutron> {
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const network = /^\/v2\.0\/networks\/([^/]+)$/.exec(path);
    let status = 200;
    let body: unknown;
    if (req.method === 'GET' && (path === '' || path === '/v2.0')) {
      // openstacksdk discovers the API version from the endpoint root first.
      body = {
        versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${base}/v2.0/`, rel: 'self' }] }],
      };
    } else if (req.method === 'GET' && network) {
      body = { network: { id: network[1], name: 'cleaning' } };
    } else {
      status = 404;
      body = {
        NeutronError: { type: 'HTTPNotFound', message: `${req.method} ${req.url} is not faked`, detail: '' },
      };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
