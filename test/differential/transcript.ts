// What a differential scenario observed, reduced to the parts two Ironic-shaped servers must agree
// on: status codes, what each fault MEANS (not its wording), and the walk of node states.
import { call, faultOf, pollNode, type NodeView, type PollOptions, type RawResponse } from './http.js';

export type Fact = string | number | boolean | null | Fact[] | { [key: string]: Fact };

export type Entry =
  | { step: string; status: number; fault?: string }
  | { step: string; walk: string[] }
  | { step: string; fact: Fact };

export interface Transcript {
  scenario: string;
  entries: Entry[];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * The meaning of an Ironic faultstring. Wording, node names and the conductor's host name differ
 * between servers; the kind of refusal must not.
 */
export function classifyFault(status: number, faultstring: string): string {
  if (/ is locked by host /.test(faultstring)) return 'locked';
  if (/can not be updated while a state transition is in progress/.test(faultstring)) {
    return 'transition-in-progress';
  }
  const verb =
    /The requested action "([^"]+)" can not be performed on node "[^"]+" while it is in state "([^"]+)"/.exec(
      faultstring,
    );
  if (verb) return `invalid-state-verb(${verb[1]},${verb[2]})`;
  if (/VIF \S+ is already attached/.test(faultstring)) return 'vif-already-attached';
  if (/because it is not attached to it/.test(faultstring)) return 'vif-not-attached';
  if (/not enough free physical ports/.test(faultstring)) return 'no-free-ports';
  if (/^Node \S+ could not be found/.test(faultstring)) return 'not-found';
  const unexpected = /Unexpected arguments: (.+?)\.?$/.exec(faultstring);
  if (unexpected) return `unexpected-arguments(${unexpected[1]})`;
  if (status === 406) return 'version-not-acceptable';
  return `other(${faultstring.replace(UUID, '<uuid>')})`;
}

/** Removes consecutive duplicates: polling sees a state many times, the walk counts it once. */
export function collapse(tokens: readonly string[]): string[] {
  return tokens.filter((t, i) => i === 0 || t !== tokens[i - 1]);
}

export const provisionToken = (n: NodeView): string =>
  `${n.provision_state}>${n.target_provision_state ?? '-'}`;
export const powerToken = (n: NodeView): string =>
  `${n.power_state ?? 'null'}>${n.target_power_state ?? '-'}`;

export interface WalkOptions {
  view: (n: NodeView) => string;
  /**
   * Tokens that may or may not be seen, depending on polling luck: e.g. `cleaning` with no clean
   * steps lasts tens of milliseconds on fake-hardware. They are dropped from the walk.
   */
  fleeting?: readonly string[];
}

/** Runs one scenario's requests against one server and writes its transcript. */
export class Recorder {
  readonly entries: Entry[] = [];

  constructor(
    readonly baseUrl: string,
    readonly poll: PollOptions,
  ) {}

  /** Sends a request and records its status and, when it failed, the meaning of its fault. */
  async request(
    step: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RawResponse> {
    const res = await call(this.baseUrl, method, path, body, headers);
    this.record(step, res);
    return res;
  }

  private record(step: string, res: RawResponse): void {
    const fault = faultOf(res);
    this.entries.push(
      res.status >= 400
        ? {
            step,
            status: res.status,
            fault: fault ? classifyFault(res.status, fault.faultstring) : 'no-fault-body',
          }
        : { step, status: res.status },
    );
  }

  /**
   * Sends requests at the same moment (e.g. while a node is locked) and records them in the given
   * order, so the transcript does not depend on which answer arrives first.
   */
  async requestAll(
    requests: readonly { step: string; method: string; path: string; body?: unknown }[],
  ): Promise<RawResponse[]> {
    const answers = await Promise.all(requests.map((r) => call(this.baseUrl, r.method, r.path, r.body)));
    answers.forEach((res, i) => this.record(requests[i]!.step, res));
    return answers;
  }

  /** Polls until `done`, recording the collapsed sequence of tokens observed on the way. */
  async walk(
    step: string,
    node: string,
    done: (n: NodeView) => boolean,
    opts: WalkOptions,
  ): Promise<NodeView> {
    const seen: string[] = [];
    const last = await pollNode(this.baseUrl, node, done, this.poll, (n) => seen.push(opts.view(n)));
    const fleeting = new Set(opts.fleeting ?? []);
    this.entries.push({ step, walk: collapse(seen.filter((t) => !fleeting.has(t))) });
    return last;
  }

  fact(step: string, fact: Fact): void {
    this.entries.push({ step, fact });
  }
}
