// Ironic answers with Python's json.dumps: ", " and ": " separators and
// non-ASCII escaped as \uXXXX. Clients parse JSON either way; we keep the bytes
// identical so captured bodies compare equal with the real service.

const NON_ASCII = /[\u0080-\uffff]/g;
const HAS_NON_ASCII = /[\u0080-\uffff]/;
/** A JSON string token, or a separator outside strings. */
const TOKENS = /"(?:[^"\\]|\\.)*"|[:,]/g;

function spaced(token: string): string {
  if (token === ':') return ': ';
  if (token === ',') return ', ';
  return token;
}

/** JSON text exactly as Python's json.dumps(value) writes it (for JSON-shaped values). */
export function pyDumps(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  const out = json.replace(TOKENS, spaced);
  return HAS_NON_ASCII.test(out)
    ? out.replace(NON_ASCII, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    : out;
}

function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of s) {
    if (c === '\\') out += '\\\\';
    else if (c === quote) out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else out += c;
  }
  return out + quote;
}

/** Python's repr() of a JSON value, as Ironic's faultstrings embed patches and values. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'string':
      return reprStr(value);
    case 'number':
      return Number.isInteger(value) ? String(value) : String(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map(pyRepr).join(', ') + ']';
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        parts.push(`${reprStr(k)}: ${pyRepr(v)}`);
      return '{' + parts.join(', ') + '}';
    }
    default:
      return 'None';
  }
}
