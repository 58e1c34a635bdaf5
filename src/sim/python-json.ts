// Ironic answers with Python's json.dumps: ", " and ": " separators and
// non-ASCII escaped as \uXXXX. Clients parse JSON either way; we keep the bytes
// identical so captured bodies compare equal with the real service.

const NON_ASCII = /[\u007f-\uffff]/g;
const HAS_NON_ASCII = /[\u007f-\uffff]/;

function str(s: string): string {
  const json = JSON.stringify(s);
  return HAS_NON_ASCII.test(json)
    ? json.replace(NON_ASCII, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    : json;
}

export function pyDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return str(value);
    case 'number':
      return Number.isFinite(value)
        ? Number.isInteger(value)
          ? String(value)
          : JSON.stringify(value)
        : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ', ' : '') + pyDumps(value[i]);
        return out + ']';
      }
      let out = '{';
      let first = true;
      for (const key in value as Record<string, unknown>) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        out += (first ? '' : ', ') + str(key) + ': ' + pyDumps(v);
        first = false;
      }
      return out + '}';
    }
    default:
      return 'null';
  }
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
