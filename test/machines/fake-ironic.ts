// A fake IronicApi at the interface boundary: records each call, answers from a small in-memory
// node, and throws whatever typed error a test scripts for a method.
import type {
  CallOptions,
  ConsoleInfo,
  IronicApi,
  JsonObject,
  Node,
  NodeValidation,
  PatchOp,
  Port,
  Portgroup,
  Vif,
} from '../../src/ironic/types.js';
import type { EffectContext, FilteringHooks, RunSecrets } from '../../src/machines/effect-context.js';
import type { NodeObservedEvent } from '../../src/machines/node-view.js';
import { FULL_NODE } from './fixtures.js';

export interface Call {
  method: string;
  args: unknown[];
}

type Failure = (args: unknown[]) => Error | undefined;

export class FakeIronic implements IronicApi {
  readonly microversion = '1.82';
  readonly calls: Call[] = [];
  node: Node = { ...(FULL_NODE as unknown as Node) };
  validation: NodeValidation = { deploy: { result: true }, power: { result: true } };
  console: ConsoleInfo = {
    console_enabled: true,
    console_info: { type: 'socat', url: 'tcp://192.0.2.10:8023' },
  };
  ports: Port[] = [];
  portgroups: Portgroup[] = [];
  private readonly failures = new Map<string, Failure>();

  failWith(method: string, failure: Failure): void {
    this.failures.set(method, failure);
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.failures.get(method)?.(args);
    if (err !== undefined) throw err;
  }

  async getNode(node: string, opts?: CallOptions): Promise<Node> {
    this.record('getNode', node, opts);
    return this.node;
  }
  async getNodeByInstance(instance: string, opts?: CallOptions): Promise<Node> {
    this.record('getNodeByInstance', instance, opts);
    return this.node;
  }
  async listNodes(): Promise<Node[]> {
    this.record('listNodes');
    return [this.node];
  }
  async updateNode(node: string, patch: readonly PatchOp[], opts?: CallOptions): Promise<Node> {
    this.record('updateNode', node, patch, opts);
    return this.node;
  }
  async validateNode(node: string, opts?: CallOptions): Promise<NodeValidation> {
    this.record('validateNode', node, opts);
    return this.validation;
  }
  async setProvisionState(
    node: string,
    target: string,
    opts?: CallOptions & { configdrive?: unknown },
  ): Promise<void> {
    this.record('setProvisionState', node, target, opts);
  }
  async setPowerState(node: string, target: string, opts?: CallOptions): Promise<void> {
    this.record('setPowerState', node, target, opts);
  }
  async attachVif(node: string, vif: string, opts?: CallOptions): Promise<void> {
    this.record('attachVif', node, vif, opts);
  }
  async detachVif(node: string, vif: string, opts?: CallOptions): Promise<void> {
    this.record('detachVif', node, vif, opts);
  }
  async listVifs(node: string): Promise<Vif[]> {
    this.record('listVifs', node);
    return [];
  }
  async getConsole(node: string, opts?: CallOptions): Promise<ConsoleInfo> {
    this.record('getConsole', node, opts);
    return this.console;
  }
  async setConsoleMode(node: string, enabled: boolean, opts?: CallOptions): Promise<void> {
    this.record('setConsoleMode', node, enabled, opts);
  }
  async listPorts(node: string, opts?: CallOptions): Promise<Port[]> {
    this.record('listPorts', node, opts);
    return this.ports;
  }
  async listPortgroups(node: string, opts?: CallOptions): Promise<Portgroup[]> {
    this.record('listPortgroups', node, opts);
    return this.portgroups;
  }
  async createNode(body: JsonObject): Promise<Node> {
    this.record('createNode', body);
    return this.node;
  }
  async deleteNode(node: string): Promise<void> {
    this.record('deleteNode', node);
  }
}

export function fakeContext(
  ironic: FakeIronic,
  over: { secrets?: RunSecrets; hooks?: FilteringHooks; observed?: Node[] } = {},
): EffectContext & { notes: string[]; slept: number[]; hookCalls: string[]; emitted: NodeObservedEvent[] } {
  const notes: string[] = [];
  const emitted: NodeObservedEvent[] = [];
  const slept: number[] = [];
  const hookCalls: string[] = [];
  const observed = [...(over.observed ?? [])];
  return {
    ironic,
    signal: new AbortController().signal,
    hooks: over.hooks ?? {
      setupFiltering: async (a) => void hookCalls.push(`setup:${a.vifs.join(',')}`),
      teardownFiltering: async (a) => void hookCalls.push(`teardown:${a.vifs.join(',')}`),
    },
    secrets: over.secrets ?? {},
    observeNode: async () => observed.shift() ?? ironic.node,
    sleep: async (ms) => void slept.push(ms),
    emit: async (event) => void emitted.push(event),
    note: (_level, message) => void notes.push(message),
    emitted,
    notes,
    slept,
    hookCalls,
  };
}
