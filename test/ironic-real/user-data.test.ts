// User data that is not text, against the real Ironic: our config-2 ISO string is accepted,
// the deploy reaches active, and what Ironic stored is the image we built, whose user_data is
// the input byte for byte (read from Ironic's own database, since the API masks it, and
// extracted by isoinfo and pycdlib).
import { openConnection } from '../../src/store/sqlite.js';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { DeployInput } from '../../src/machines/index.js';
import { isoOf, readIso } from '../ironic/iso-reader.js';
import { availableNode, openRealEngine, tempDir } from './engine-helpers.js';
import { call, faultOf, getNode } from './helpers.js';

const url = inject('ironicUrl');
const log = inject('ironicLog');
const tmp = tempDir('ironledger-real-user-data-');
afterAll(() => tmp.cleanup());

/** instance_info as Ironic stored it (the API shows the config drive as ******). */
function storedInstanceInfo(ironicLog: string, node: string): Record<string, unknown> {
  const db = openConnection(join(dirname(ironicLog), 'ironic.sqlite'), {
    readonly: true,
    fileMustExist: true,
  });
  try {
    db.pragma('busy_timeout = 5000');
    const row = db.prepare('SELECT instance_info FROM nodes WHERE uuid = ?').get(node) as
      { instance_info: string | null } | undefined;
    return row?.instance_info ? (JSON.parse(row.instance_info) as Record<string, unknown>) : {};
  } finally {
    db.close();
  }
}

describe.skipIf(url === null || log === null)('user data against the real Ironic', () => {
  const base = url!;

  it('deploys with gzip user data to active; Ironic keeps our ISO, its user_data the input bytes', async () => {
    const node = await availableNode(base);
    const instance = randomUUID();
    const bytes = gzipSync(Buffer.from(`#cloud-config\n# ud-${randomUUID()}\n`));
    const input: DeployInput = {
      instance,
      node,
      vifs: [],
      image: { source: 'http://127.0.0.1/image.qcow2' },
      flavor: { vcpus: 1, memoryMb: 1024, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
      hostname: 'real-user-data',
      configDrivePlan: { required: true, hasAdminPassword: false, hasUserData: true, injectedFiles: 0 },
    };
    const engine = await openRealEngine(base, join(tmp.dir, 'user-data.db'));
    let status: string;
    try {
      status = (await engine.deploy(input, { userData: bytes }).done).status;
    } finally {
      await engine.close();
    }
    expect(status).toBe('succeeded');
    const seen = await getNode(base, node);
    expect(seen.provision_state).toBe('active');
    expect(seen.instance_info['configdrive']).toBe('******');
    const drive = storedInstanceInfo(log!, node)['configdrive'];
    expect(typeof drive).toBe('string');
    readIso(isoOf(drive as string), (iso) => {
      expect(iso.blkid).toBe('LABEL=config-2 TYPE=iso9660');
      expect(iso.joliet('/openstack/latest/user_data').equals(bytes)).toBe(true);
      expect(iso.pycdlib('/openstack/latest/user_data').equals(bytes)).toBe(true);
      expect(JSON.parse(iso.joliet('/openstack/latest/meta_data.json').toString('utf8'))).toMatchObject({
        uuid: instance,
        hostname: 'real-user-data',
      });
    });
  });

  it('refuses a string config drive that is neither base64 nor a URL, as the simulator does', async () => {
    const node = await availableNode(base);
    const res = await call(base, 'PUT', `/v1/nodes/${node}/states/provision`, {
      target: 'active',
      configdrive: '#cloud-config\nruncmd: []\n',
    });
    expect(res.status, res.text).toBe(400);
    expect(faultOf(res)?.faultstring).toBe(
      'Invalid configdrive format: it is neither a JSON, nor a URL, nor a base64 string',
    );
    expect((await getNode(base, node)).provision_state).toBe('available');
  });
});
