// The route template of an Ironic API path, for labels and span names: the path's fixed words
// kept, every identifier replaced by a placeholder, the query dropped. A node's UUID or name,
// a VIF id or anything not a known word of the API never survives into a template.

/** Words of the paths this client calls; any other segment is an identifier. */
const WORDS = new Set([
  'v1',
  'v3',
  'nodes',
  'detail',
  'states',
  'provision',
  'power',
  'console',
  'raid',
  'boot_device',
  'vifs',
  'validate',
  'ports',
  'portgroups',
  'auth',
  'tokens',
]);

/** What an identifier after each collection word stands for. */
const PLACEHOLDER: Record<string, string> = {
  nodes: '{node}',
  vifs: '{vif}',
  ports: '{port}',
  portgroups: '{portgroup}',
};

/** `/v1/nodes/1be2...?fields=uuid` -> `/v1/nodes/{node}`. */
export function routeOf(path: string): string {
  const q = path.indexOf('?');
  const bare = q < 0 ? path : path.slice(0, q);
  if (bare === '' || bare === '/') return '/';
  const parts = bare.split('/');
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '' || WORDS.has(part)) continue;
    parts[i] = PLACEHOLDER[parts[i - 1] ?? ''] ?? '{id}';
  }
  return parts.join('/');
}
