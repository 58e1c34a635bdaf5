// The simulator's own record of every request, in arrival-completion order, so
// tests can assert the order of calls our engine made. A ring buffer: at scale
// (benchmarks) memory stays bounded and the oldest entries fall off.

export interface RequestLogEntry {
  method: string;
  /** Path with query string, as received. */
  path: string;
  /** HTTP status sent, or 0 when the connection was reset by a fault. */
  status: number;
  /** ISO time the request arrived. */
  at: string;
  /** Milliseconds from arrival to response end (or reset). */
  ms: number;
  /** UUID of the node the path addresses, when it resolved to one. */
  node?: string;
  /** The fault injected into this request, if any. */
  fault?: string;
  /** The client's User-Agent header, when it sent one (tells replicas apart). */
  agent?: string;
}

export class RequestLog {
  private readonly buf: (RequestLogEntry | undefined)[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<RequestLogEntry | undefined>(Math.max(1, capacity));
  }

  push(entry: RequestLogEntry): void {
    const cap = this.buf.length;
    if (this.size < cap) {
      this.buf[(this.start + this.size) % cap] = entry;
      this.size++;
    } else {
      this.buf[this.start] = entry;
      this.start = (this.start + 1) % cap;
    }
  }

  entries(): RequestLogEntry[] {
    const out: RequestLogEntry[] = [];
    for (let i = 0; i < this.size; i++) out.push({ ...this.buf[(this.start + i) % this.buf.length]! });
    return out;
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
    this.buf.fill(undefined);
  }
}
