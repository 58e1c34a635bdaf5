// Reads an HTML page's real tags (not text: every `<` in text is escaped) and what they could load.
export interface Tag {
  name: string;
  attrs: Array<[string, string]>;
}

/** Every start tag with its attributes; values are as written (escaped), quotes removed. */
export function tags(html: string): Tag[] {
  const out: Tag[] = [];
  for (const m of html.matchAll(
    /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g,
  )) {
    const attrs: Array<[string, string]> = [];
    for (const a of m[2]!.matchAll(/([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      const raw = a[2] ?? '';
      attrs.push([a[1]!.toLowerCase(), raw.replace(/^["']|["']$/g, '')]);
    }
    out.push({ name: m[1]!.toLowerCase(), attrs });
  }
  return out;
}

/** What in the page would reach outside it: a URL, a link tag, a src or href that is not local, an inline handler. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const scheme of ['http://', 'https://', '//cdn', 'url('])
    if (html.includes(scheme)) found.push(scheme);
  for (const t of tags(html)) {
    if (
      ['link', 'iframe', 'img', 'object', 'embed', 'base', 'frame', 'audio', 'video', 'source'].includes(
        t.name,
      )
    )
      found.push(`<${t.name}>`);
    for (const [name, value] of t.attrs) {
      if ((name === 'src' || name === 'srcset') && !value.startsWith('data:'))
        found.push(`${t.name} ${name}=${value}`);
      if (name === 'href' && !value.startsWith('#')) found.push(`${t.name} href=${value}`);
      if (name.startsWith('on')) found.push(`${t.name} ${name}`);
    }
    if (t.name === 'script' && t.attrs.length > 0) found.push('<script> with attributes');
  }
  return found;
}
