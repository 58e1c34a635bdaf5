// Scrubbing by value: the second half of keeping secrets out of the record. Redaction
// (redact.ts) drops whatever sits under a secret's key; a secret Ironic repeats back inside an
// answer (a last_error quoting the config drive, a faultstring echoing a field) sits under no
// such key. A Scrubber knows the values themselves (a run's admin password, user data, the
// client's token) and replaces each occurrence, in any string of any payload, with '***'.
//
// Cost is paid only by payloads that hold a secret: a payload is first serialized (the store
// does that anyway) and the JSON text searched for each secret as JSON would spell it; only on
// a hit is the payload walked and copied.

/** What replaces a secret's value (the transport's marker for the same job in error messages). */
export const SCRUBBED = '***';

/**
 * Values shorter than this are never scrubbed: replacing a one- or two-character string would
 * mangle every payload it occurs in. The Ironic transport applies the same rule to the messages
 * of its errors (src/ironic/transport.ts).
 */
export const MIN_SECRET_CHARS = 3;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The value as it reads inside a JSON string: quotes, backslashes and control characters escaped. */
function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/** As Python's json.dumps writes it (ensure_ascii): also every non-ASCII character as \uXXXX. */
function asciiEscaped(value: string): string {
  return jsonEscaped(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export class Scrubber {
  /** The forms searched in a string, longest first, so a secret inside another goes with it. */
  private readonly forms: string[] = [];
  /** The same forms as they read in JSON text (the cheap test on a serialized payload). */
  private readonly jsonForms: string[] = [];
  private readonly known = new Set<string>();

  /**
   * A scrubber for these values (and the forms a server may echo them in: as they are,
   * JSON-escaped, JSON-escaped as ASCII); values shorter than MIN_SECRET_CHARS are left out.
   * Null when no value remains: a run without secrets pays nothing.
   */
  static of(values: Iterable<string | undefined>): Scrubber | null {
    const s = new Scrubber();
    for (const v of values) if (v !== undefined) s.add(v);
    return s.empty ? null : s;
  }

  get empty(): boolean {
    return this.forms.length === 0;
  }

  /** How many secret values (not forms) it holds. */
  get size(): number {
    return this.known.size;
  }

  /** A new scrubber holding this one's values and `values`. */
  with(values: Iterable<string | undefined>): Scrubber {
    const s = new Scrubber();
    for (const v of this.known) s.add(v);
    for (const v of values) if (v !== undefined) s.add(v);
    return s;
  }

  /** Adds a value (ignored when shorter than MIN_SECRET_CHARS). */
  add(value: string): void {
    if (value.length < MIN_SECRET_CHARS || this.known.has(value)) return;
    this.known.add(value);
    for (const form of new Set([value, jsonEscaped(value), asciiEscaped(value)])) {
      if (this.forms.includes(form)) continue;
      this.forms.push(form);
      this.jsonForms.push(jsonEscaped(form));
    }
    this.forms.sort((a, b) => b.length - a.length);
    this.jsonForms.sort((a, b) => b.length - a.length);
  }

  /** Whether the text holds a secret in one of its forms. */
  foundIn(text: string): boolean {
    for (const f of this.forms) if (text.includes(f)) return true;
    return false;
  }

  /**
   * Whether JSON text (a serialized payload) may hold a secret: never false when one of its
   * strings does. A true answer may be wrong (an escape sequence next to a look-alike); the
   * payload walk then finds nothing.
   */
  foundInJson(json: string): boolean {
    for (const f of this.jsonForms) if (json.includes(f)) return true;
    return false;
  }

  /** The text with every form of every secret replaced by '***'. */
  text(text: string): string {
    let out = text;
    for (const f of this.forms) if (out.includes(f)) out = out.split(f).join(SCRUBBED);
    return out;
  }

  /**
   * A copy of `value` with every string scrubbed, or `value` itself when none holds a secret.
   * Keys are kept (they are the payload's shape), and so is a string that is a whole UUID:
   * an instance or node UUID names what a run acts on, and a short secret made of hex digits
   * must not take it away from a resumed run. An Error becomes { type, message, stack, code }
   * once one of those holds a secret. Never mutates its input.
   */
  value<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') {
      if (UUID.test(value)) return value;
      return this.foundIn(value) ? this.text(value) : value;
    }
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (Array.isArray(value)) {
      let out: unknown[] | null = null;
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        const s = this.walk(v, depth + 1);
        if (s !== v) {
          out ??= value.slice();
          out[i] = s;
        }
      }
      return out ?? value;
    }
    if (value instanceof Error) return this.error(value, depth);
    const obj = value as Record<string, unknown>;
    let out: Record<string, unknown> | null = null;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      const s = this.walk(v, depth + 1);
      if (s !== v) {
        out ??= { ...obj };
        out[key] = s;
      }
    }
    return out ?? value;
  }

  private error(err: Error, depth: number): unknown {
    // Its own fields (an IronicError's status, node, path...), its message, stack and cause.
    const parts: Record<string, unknown> = { ...err, message: err.message, stack: err.stack };
    const { cause } = err as Error & { cause?: unknown };
    if (cause !== undefined) parts['cause'] = cause;
    const scrubbed = this.walk(parts, depth);
    if (scrubbed === parts) return err;
    return { type: err.name, ...(scrubbed as Record<string, unknown>) };
  }
}
