// The typed Ironic operations the seed uses, as one implementation of IronicApi over
// an IronicTransport. IronicClient (client.ts) owns the transport; observer views share
// it and differ only in who is told about each attempt.
import { IronicInvalidInputError, IronicMalformedResponseError, IronicNotFoundError } from './errors.js';
import { ProvisionVerb, type ProvisionVerbName } from './states.js';
import type { CallContext, HttpMethod, IronicTransport, RawResponse, RequestSpec } from './transport.js';
import type {
  CallOptions,
  ConsoleInfo,
  HttpObserver,
  IronicApi,
  Json,
  JsonObject,
  Node,
  NodeField,
  NodeListFilters,
  NodeValidation,
  PatchOp,
  Port,
  Portgroup,
  PowerTarget,
  SetPowerStateOptions,
  SetProvisionStateOptions,
  Uuid,
  Vif,
} from './types.js';
import {
  assertNodeIdent,
  assertPatch,
  assertPowerTimeout,
  assertUuid,
  assertVifId,
  isUuid,
} from './validate.js';
import {
  markerOf,
  readConsole,
  readNode,
  readNodeList,
  readPortgroups,
  readPorts,
  readValidation,
  readVifs,
  WireShapeError,
} from './wire.js';

/** Provision targets that may carry a config drive (Ironic refuses it with any other). */
const CONFIGDRIVE_TARGETS: readonly ProvisionVerbName[] = [ProvisionVerb.ACTIVE, ProvisionVerb.REBUILD];
const PROVISION_VERBS: readonly string[] = Object.values(ProvisionVerb);

export class IronicOperations implements IronicApi {
  constructor(
    protected readonly transport: IronicTransport,
    readonly microversion: string,
    protected readonly observers: readonly HttpObserver[],
  ) {}

  async getNode(
    node: Uuid | string,
    opts: CallOptions & { fields?: readonly NodeField[] } = {},
  ): Promise<Node> {
    assertNodeIdent(node);
    const query = opts.fields === undefined ? '' : `?fields=${fieldsParam(opts.fields)}`;
    return this.json('GET', `/v1/nodes/${enc(node)}${query}`, node, opts, (res) => readNode(parse(res)));
  }

  async getNodeByInstance(
    instance: Uuid,
    opts: CallOptions & { fields?: readonly NodeField[] } = {},
  ): Promise<Node> {
    assertUuid(instance, 'instance');
    // /v1/nodes/detail refuses fields= (400 "Unexpected arguments: fields"), so a field
    // selection goes to the plain list, which accepts both.
    const path =
      opts.fields === undefined
        ? `/v1/nodes/detail?instance_uuid=${enc(instance)}`
        : `/v1/nodes?instance_uuid=${enc(instance)}&fields=${fieldsParam(opts.fields)}`;
    const { nodes } = await this.json('GET', path, undefined, opts, (res) => readNodeList(parse(res)));
    const found = nodes[0];
    // Ironic answers 200 with an empty list for an instance it does not know.
    if (found === undefined) {
      throw new IronicNotFoundError(`no Ironic node is associated with instance ${instance}`, {
        status: 200,
        method: 'GET',
        path,
      });
    }
    return found;
  }

  async listNodes(filters: NodeListFilters = {}, opts: CallOptions = {}): Promise<Node[]> {
    if (filters.instance_uuid !== undefined) assertUuid(filters.instance_uuid, 'instance_uuid filter');
    if (filters.marker !== undefined) assertUuid(filters.marker, 'marker');
    const limit = filters.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new IronicInvalidInputError(`limit must be an integer >= 0, got ${String(filters.limit)}`);
    }
    if (filters.detail === true && filters.fields !== undefined) {
      throw new IronicInvalidInputError(
        'detail and fields cannot be combined (Ironic refuses fields on /v1/nodes/detail)',
      );
    }
    const query = new URLSearchParams();
    if (filters.associated !== undefined) query.set('associated', String(filters.associated));
    if (filters.maintenance !== undefined) query.set('maintenance', String(filters.maintenance));
    if (filters.provision_state !== undefined && filters.provision_state !== null) {
      query.set('provision_state', filters.provision_state);
    }
    if (filters.instance_uuid !== undefined) query.set('instance_uuid', filters.instance_uuid);
    if (limit > 0) query.set('limit', String(limit));
    const base = filters.detail === true ? '/v1/nodes/detail' : '/v1/nodes';
    const fields = filters.fields === undefined ? '' : `fields=${fieldsParam(filters.fields)}`;
    const list = { base, query, rawQuery: fields, marker: filters.marker, limit };
    return this.pages(list, opts, (res) => {
      const page = readNodeList(parse(res));
      return { items: page.nodes, next: page.next };
    });
  }

  async updateNode(node: Uuid | string, patch: readonly PatchOp[], opts: CallOptions = {}): Promise<Node> {
    assertNodeIdent(node);
    assertPatch(patch);
    return this.json('PATCH', `/v1/nodes/${enc(node)}`, node, opts, (res) => readNode(parse(res)), patch);
  }

  async validateNode(node: Uuid | string, opts: CallOptions = {}): Promise<NodeValidation> {
    assertNodeIdent(node);
    return this.json('GET', `/v1/nodes/${enc(node)}/validate`, node, opts, (res) =>
      readValidation(parse(res)),
    );
  }

  async setProvisionState(
    node: Uuid | string,
    target: ProvisionVerbName,
    opts: SetProvisionStateOptions = {},
  ): Promise<void> {
    assertNodeIdent(node);
    if (!PROVISION_VERBS.includes(target)) {
      throw new IronicInvalidInputError(`unknown provision target ${JSON.stringify(target)}`);
    }
    const body: JsonObject = { target };
    let secrets: string[] = [];
    if (opts.configdrive !== undefined) {
      if (!CONFIGDRIVE_TARGETS.includes(target)) {
        throw new IronicInvalidInputError(
          `a config drive can only be sent with target active or rebuild, not ${target}`,
        );
      }
      body['configdrive'] = opts.configdrive as unknown as Json;
      secrets = stringLeaves(opts.configdrive);
    }
    await this.send(
      {
        method: 'PUT',
        path: `/v1/nodes/${enc(node)}/states/provision`,
        node,
        body,
        secrets,
        idempotent: false,
      },
      opts,
    );
  }

  async setPowerState(
    node: Uuid | string,
    target: 'on' | 'off' | 'reboot',
    opts: SetPowerStateOptions & { soft?: boolean } = {},
  ): Promise<void> {
    assertNodeIdent(node);
    const body: JsonObject = { target: powerTarget(target, opts.soft === true) };
    if (opts.timeoutSeconds !== undefined) {
      assertPowerTimeout(opts.timeoutSeconds);
      body['timeout'] = opts.timeoutSeconds;
    }
    await this.send(
      { method: 'PUT', path: `/v1/nodes/${enc(node)}/states/power`, node, body, idempotent: false },
      opts,
    );
  }

  async attachVif(node: Uuid | string, vifId: string, opts: CallOptions = {}): Promise<void> {
    assertNodeIdent(node);
    assertVifId(vifId);
    await this.send({ method: 'POST', path: `/v1/nodes/${enc(node)}/vifs`, node, body: { id: vifId } }, opts);
  }

  async detachVif(node: Uuid | string, vifId: string, opts: CallOptions = {}): Promise<void> {
    assertNodeIdent(node);
    assertVifId(vifId);
    await this.send({ method: 'DELETE', path: `/v1/nodes/${enc(node)}/vifs/${enc(vifId)}`, node }, opts);
  }

  async listVifs(node: Uuid | string, opts: CallOptions = {}): Promise<Vif[]> {
    assertNodeIdent(node);
    return this.json('GET', `/v1/nodes/${enc(node)}/vifs`, node, opts, (res) => readVifs(parse(res)));
  }

  async getConsole(node: Uuid | string, opts: CallOptions = {}): Promise<ConsoleInfo> {
    assertNodeIdent(node);
    return this.json('GET', `/v1/nodes/${enc(node)}/states/console`, node, opts, (res) =>
      readConsole(parse(res)),
    );
  }

  async setConsoleMode(node: Uuid | string, enabled: boolean, opts: CallOptions = {}): Promise<void> {
    assertNodeIdent(node);
    if (typeof enabled !== 'boolean') throw new IronicInvalidInputError('console mode must be true or false');
    await this.send(
      { method: 'PUT', path: `/v1/nodes/${enc(node)}/states/console`, node, body: { enabled } },
      opts,
    );
  }

  async listPorts(node: Uuid | string, opts: CallOptions = {}): Promise<Port[]> {
    assertNodeIdent(node);
    const query = new URLSearchParams({ node });
    return this.pages({ base: '/v1/ports/detail', query, node }, opts, (res) =>
      withNext(parse(res), readPorts),
    );
  }

  async listPortgroups(node: Uuid | string, opts: CallOptions = {}): Promise<Portgroup[]> {
    assertNodeIdent(node);
    const query = new URLSearchParams({ node });
    return this.pages({ base: '/v1/portgroups/detail', query, node }, opts, (res) =>
      withNext(parse(res), readPortgroups),
    );
  }

  async createNode(body: JsonObject, opts: CallOptions = {}): Promise<Node> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new IronicInvalidInputError('node body must be a JSON object');
    }
    return this.json('POST', '/v1/nodes', undefined, opts, (res) => readNode(parse(res)), body);
  }

  async deleteNode(node: Uuid | string, opts: CallOptions = {}): Promise<void> {
    assertNodeIdent(node);
    await this.send({ method: 'DELETE', path: `/v1/nodes/${enc(node)}`, node }, opts);
  }

  private context(opts: CallOptions): CallContext {
    return { microversion: this.microversion, observers: this.observers, opts };
  }

  private json<T>(
    method: HttpMethod,
    path: string,
    node: string | undefined,
    opts: CallOptions,
    read: (res: RawResponse) => T,
    body?: unknown,
  ): Promise<T> {
    const spec: RequestSpec = {
      method,
      path,
      ...(node === undefined ? {} : { node }),
      ...(body === undefined ? {} : { body }),
    };
    return this.transport.request(spec, this.context(opts), read);
  }

  /** A request whose answer carries nothing we need (202 / 204). */
  private send(spec: RequestSpec, opts: CallOptions): Promise<void> {
    return this.transport.request(spec, this.context(opts), () => undefined);
  }

  /**
   * Follows `next` links (Ironic pages at its api.max_limit, 1000 by default) until the
   * collection ends or `limit` items are in hand (limit 0: to the end, as the seed's
   * limit=0). We rebuild each page's URL from the marker instead of following the link,
   * so a proxy-rewritten host or scheme in `next` cannot send us elsewhere.
   */
  private async pages<T>(
    list: ListQuery,
    opts: CallOptions,
    read: (res: RawResponse) => { items: T[]; next: string | null },
  ): Promise<T[]> {
    const { base, query, rawQuery = '', limit = 0, node } = list;
    const items: T[] = [];
    const seen = new Set<string>();
    let marker = list.marker;
    for (;;) {
      const q = new URLSearchParams(query);
      if (marker !== undefined) q.set('marker', marker);
      const qs = [q.toString(), rawQuery].filter((s) => s.length > 0).join('&');
      const path = qs.length > 0 ? `${base}?${qs}` : base;
      const page = await this.json('GET', path, node, opts, read);
      items.push(...page.items);
      if (limit > 0 && items.length >= limit) return items.slice(0, limit);
      const next = page.next === null ? null : markerOf(page.next);
      if (next === null) return items;
      if (seen.has(next)) {
        // A server that hands out the same marker twice would keep us paging forever.
        throw new IronicMalformedResponseError(`GET ${base}: next link repeats marker ${next}`, {
          method: 'GET',
          path,
          snippet: page.next ?? '',
        });
      }
      seen.add(next);
      marker = next;
    }
  }
}

/** One paged collection: its path, filters, where to start and how many items to collect. */
interface ListQuery {
  base: string;
  query: URLSearchParams;
  /** Appended as is, so `fields=a,b` goes out spelled as Ironic spells it in its own links. */
  rawQuery?: string;
  marker?: string | undefined;
  /** 0: every page to the end. */
  limit?: number;
  node?: string;
}

function parse(res: RawResponse): unknown {
  return JSON.parse(res.body) as unknown;
}

function withNext<T>(body: unknown, read: (value: unknown) => T[]): { items: T[]; next: string | null } {
  const items = read(body);
  const next = (body as Record<string, unknown>)['next'];
  if (next !== undefined && next !== null && typeof next !== 'string')
    throw new WireShapeError('"next" must be a URL string');
  return { items, next: typeof next === 'string' ? next : null };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** uuid is always asked for: every node we hand out must say which node it is. */
function fieldsParam(fields: readonly NodeField[]): string {
  if (fields.length === 0) throw new IronicInvalidInputError('fields must name at least one field');
  const all = fields.includes('uuid') ? fields : ['uuid', ...fields];
  return all.map(enc).join(',');
}

function powerTarget(target: 'on' | 'off' | 'reboot', soft: boolean): PowerTarget {
  switch (target) {
    case 'on':
      // Ironic has no soft power on.
      if (soft) throw new IronicInvalidInputError('soft applies to off and reboot only');
      return 'power on';
    case 'off':
      return soft ? 'soft power off' : 'power off';
    case 'reboot':
      return soft ? 'soft rebooting' : 'rebooting';
    default:
      throw new IronicInvalidInputError(
        `power target must be on, off or reboot, got ${JSON.stringify(target)}`,
      );
  }
}

/**
 * Every string inside a config drive, also as JSON-escaped and line by line: Ironic's
 * schema errors may quote a value re-serialized, and none of it may surface in an error.
 */
function stringLeaves(value: unknown): string[] {
  // The instance UUID is no secret, and scrubbing it would hide which instance failed.
  if (typeof value === 'string' && isUuid(value)) return [];
  if (typeof value === 'string') {
    return [
      value,
      JSON.stringify(value).slice(1, -1),
      ...value.split(/\r?\n/).filter((line) => line.length >= 8),
    ];
  }
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringLeaves);
  return [];
}
