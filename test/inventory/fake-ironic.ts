// A fake IronicApi at the interface boundary: a list of nodes, Ironic's paging default (one page
// of 1000 unless limit 0 asks for all), field projection, and counters of each call.
import { createHash } from 'node:crypto';
import { IronicNotFoundError } from '../../src/ironic/errors.js';
import type {
  CallOptions,
  IronicApi,
  Node,
  NodeField,
  NodeListFilters,
  Uuid,
} from '../../src/ironic/types.js';

/** A deterministic, valid-looking UUID from a label, so rings place the same nodes every run. */
export function uuidFrom(label: string): Uuid {
  const h = createHash('sha1').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function makeNode(label: string, overrides: Partial<Node> = {}): Node {
  return {
    uuid: uuidFrom(`node-${label}`),
    name: `node-${label}`,
    power_state: 'power off',
    target_power_state: null,
    provision_state: 'available',
    target_provision_state: null,
    last_error: null,
    maintenance: false,
    instance_uuid: null,
    instance_info: {},
    properties: { cpus: 8, memory_mb: 16384, local_gb: 100, cpu_arch: 'x86_64' },
    resource_class: 'baremetal',
    ...overrides,
  };
}

const DEFAULT_PAGE = 1000;

function project(node: Node, fields: readonly NodeField[] | undefined): Node {
  if (!fields) return structuredClone(node);
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = structuredClone(node[f]);
  return out as unknown as Node;
}

function unsupported(): never {
  throw new Error('not used by the inventory');
}

export class FakeIronic implements IronicApi {
  readonly microversion: string;
  nodes: Node[];
  calls = { listNodes: 0, getNode: 0, getNodeByInstance: 0 };
  listFilters: NodeListFilters[] = [];
  getFields: Array<readonly NodeField[] | undefined> = [];
  /** When set, every call fails with it. */
  failWith: Error | null = null;

  constructor(nodes: Node[], microversion = '1.82') {
    this.nodes = nodes;
    this.microversion = microversion;
  }

  async listNodes(filters: NodeListFilters = {}, _opts?: CallOptions): Promise<Node[]> {
    this.calls.listNodes++;
    this.listFilters.push(filters);
    if (this.failWith) throw this.failWith;
    let nodes = this.nodes;
    if (filters.associated !== undefined)
      nodes = nodes.filter((n) => (n.instance_uuid !== null) === filters.associated);
    const limit = filters.limit === 0 ? Infinity : (filters.limit ?? DEFAULT_PAGE);
    return nodes
      .slice(0, limit)
      .map((n) => project(n, filters.detail ? undefined : (filters.fields ?? ['uuid'])));
  }

  async getNode(
    node: Uuid | string,
    opts: CallOptions & { fields?: readonly NodeField[] } = {},
  ): Promise<Node> {
    this.calls.getNode++;
    this.getFields.push(opts.fields);
    if (this.failWith) throw this.failWith;
    const found = this.nodes.find((n) => n.uuid === node || n.name === node);
    if (!found) throw new IronicNotFoundError(`Node ${node} could not be found.`, { status: 404, node });
    return project(found, opts.fields);
  }

  async getNodeByInstance(
    instance: Uuid,
    opts: CallOptions & { fields?: readonly NodeField[] } = {},
  ): Promise<Node> {
    this.calls.getNodeByInstance++;
    if (this.failWith) throw this.failWith;
    const found = this.nodes.find((n) => n.instance_uuid === instance);
    if (!found) throw new IronicNotFoundError(`Instance ${instance} could not be found.`, { status: 404 });
    return project(found, opts.fields);
  }

  updateNode = unsupported;
  validateNode = unsupported;
  setProvisionState = unsupported;
  setPowerState = unsupported;
  attachVif = unsupported;
  detachVif = unsupported;
  listVifs = unsupported;
  getConsole = unsupported;
  setConsoleMode = unsupported;
  listPorts = unsupported;
  listPortgroups = unsupported;
  createNode = unsupported;
  deleteNode = unsupported;
}
