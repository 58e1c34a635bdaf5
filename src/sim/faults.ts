// Fault injection, per route and/or per node, by rate or by script. Decisions
// draw from the simulator's seeded PRNG in request order, so a run with the same
// seed and the same requests injects the same faults.
import { Prng } from './prng.js';

/** What an injected fault does to a request. */
export type FaultKind =
  /** 409 with Ironic's NodeLocked faultstring (as if a conductor held the node). */
  | '409-locked'
  /** 503 with Ironic's NoFreeConductorWorker faultstring. */
  | '503'
  /** The socket is destroyed before any response byte. */
  | 'reset'
  /** The request is delayed by `latencyMs`, then handled normally. */
  | 'latency';

/** One step of a script: a fault, or 'pass' to let that request through untouched. */
export type FaultStep = FaultKind | 'pass' | { kind: 'latency'; ms: number };

export interface FaultRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /**
   * Path to match, without query. A string is a pattern where `*` matches one
   * segment and `**` any rest, e.g. '/v1/nodes/*\/vifs/*'; or a RegExp.
   */
  path?: string | RegExp;
  /** Node UUID or name the request must address. */
  node?: string;
  /** Probability (0..1) that a matching request gets `kind`. */
  rate?: number;
  kind?: FaultKind;
  /** Faults for the next matching requests, in order; the rule is spent when empty. */
  script?: FaultStep[];
  /** Latency for `kind: 'latency'` (default 100 ms). */
  latencyMs?: number;
  /** Stop after this many injections (rate rules). */
  times?: number;
}

export interface FaultDecision {
  kind: FaultKind;
  latencyMs: number;
}

export interface FaultTarget {
  method: string;
  path: string;
  /** UUID and name of the addressed node, when the path names one. */
  nodeUuid?: string;
  nodeName?: string | null;
}

interface ActiveRule {
  id: number;
  rule: FaultRule;
  matcher: RegExp | undefined;
  script: FaultStep[] | undefined;
  injected: number;
}

function toMatcher(path: string | RegExp | undefined): RegExp | undefined {
  if (path === undefined) return undefined;
  if (path instanceof RegExp) return path;
  const parts = path.split('/').map((seg) => {
    if (seg === '**') return '.*';
    if (seg === '*') return '[^/]+';
    return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}$`);
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  private nextId = 1;
  private readonly counters: Record<FaultKind, number> = { '409-locked': 0, '503': 0, reset: 0, latency: 0 };

  constructor(private readonly prng: Prng) {}

  /** Adds a rule; returns its id for `remove`. Rules are tried in the order added. */
  add(rule: FaultRule): number {
    if (rule.script === undefined && rule.kind === undefined) {
      throw new TypeError('a fault rule needs `kind` (with `rate`) or `script`');
    }
    const id = this.nextId++;
    this.rules.push({ id, rule, matcher: toMatcher(rule.path), script: rule.script?.slice(), injected: 0 });
    return id;
  }

  /** Shorthand for a script rule. */
  script(match: Omit<FaultRule, 'script' | 'rate' | 'kind'>, steps: FaultStep[]): number {
    return this.add({ ...match, script: steps });
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  /** How many faults of each kind were injected since start (or resetCounts). */
  counts(): Record<FaultKind, number> {
    return { ...this.counters };
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counters) as FaultKind[]) this.counters[k] = 0;
  }

  /** Decides the fault for one request (called once per request by the server). */
  decide(target: FaultTarget): FaultDecision | undefined {
    for (const active of this.rules) {
      if (!this.matches(active, target)) continue;
      const decision = this.draw(active);
      if (active.script && active.script.length === 0) this.remove(active.id);
      if (decision === 'no-match') continue;
      if (decision) {
        active.injected++;
        this.counters[decision.kind]++;
      }
      return decision;
    }
    return undefined;
  }

  private matches(active: ActiveRule, t: FaultTarget): boolean {
    const { rule } = active;
    if (rule.method && rule.method.toUpperCase() !== t.method) return false;
    if (active.matcher && !active.matcher.test(t.path)) return false;
    if (rule.node && rule.node !== t.nodeUuid && rule.node !== t.nodeName) return false;
    return true;
  }

  private draw(active: ActiveRule): FaultDecision | undefined | 'no-match' {
    const { rule } = active;
    const latency = rule.latencyMs ?? 100;
    if (active.script) {
      const step = active.script.shift();
      if (step === undefined) return 'no-match';
      if (step === 'pass') return undefined;
      if (typeof step === 'object') return { kind: 'latency', latencyMs: step.ms };
      return { kind: step, latencyMs: latency };
    }
    if (rule.times !== undefined && active.injected >= rule.times) return 'no-match';
    const rate = rule.rate ?? 1;
    if (this.prng.next() >= rate) return 'no-match';
    return { kind: rule.kind!, latencyMs: latency };
  }
}
