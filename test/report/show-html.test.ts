// `ironledger show RUN --html FILE` on runs the real CLI made on the simulator: one self-contained
// page (nothing it could load from outside), Ironic's words as text however hostile, every request
// in the table, `-` for stdout, one-line errors, and no secret of the run in the file's bytes.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, json } from '../e2e/cli.js';
import { cliArgs, failedTeardown } from './failed-teardown.js';
import { externalReferences, tags } from './html-page.js';

const INSTANCE = (i: number): string => `4e7a1000-0000-4000-8000-${String(i).padStart(12, '0')}`;
/** Ironic's last_error as a hostile or careless conductor could write it. */
const HOSTILE = `Clean step erase_devices failed: <script>window.__pwned=1</script> "quoted" 'single' <b onmouseover="window.__pwned=2">&amp;</b>`;

let sim: Simulator;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ deployMs: 40, deleteMs: 20, cleanMs: 80, powerMs: 20, seed: 19 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-html-'));
});

afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

interface ShowJson {
  requests: number;
  retries: number;
  states: unknown[];
}

describe('show --html', () => {
  it('writes one self-contained page of a failed teardown: where and why at the top, Ironic words as text, every request', async () => {
    const db = join(dir, 'failed.db');
    const { runId } = await failedTeardown(sim, db, INSTANCE(1), HOSTILE);
    const file = join(dir, 'failed.html');
    const r = await cli(cliArgs(sim, db, 'show', runId, '--html', file));
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(r.stdout.trim()).toBe(`wrote ${file} (${statSync(file).size} bytes)`);

    // Self-contained: nothing to load, one inline script (ours), no handler anywhere.
    expect(externalReferences(html)).toEqual([]);
    expect(html).not.toMatch(/<link/i);
    expect(tags(html).filter((t) => t.name === 'script')).toHaveLength(1);
    // Ironic's words are there, as text.
    expect(html).not.toContain('<script>window.__pwned');
    const escaped =
      'Clean step erase_devices failed: &lt;script&gt;window.__pwned=1&lt;/script&gt; &quot;quoted&quot; &#39;single&#39; &lt;b onmouseover=&quot;window.__pwned=2&quot;&gt;&amp;amp;&lt;/b&gt;';
    expect(html).toContain(
      `<p class="why" id="last-error"><b>Ironic last_error</b> <span>${escaped}</span></p>`,
    );
    // Where and why, at the top, before the timeline.
    const top = html.slice(0, html.indexOf('<main>'));
    expect(top).toContain('destroy FAILED in unprovision.watching.cleaning (Ironic: clean failed)');
    expect(top).toContain('<b class="code">CLEAN_FAILED</b>');
    for (const fact of [runId, INSTANCE(1), 'teardown v']) expect(top, fact).toContain(fact);

    // The same numbers as the text timeline: lanes, requests, retries.
    const shown = json<ShowJson>(await cli(cliArgs(sim, db, '--json', 'show', runId)));
    expect(html.match(/<div class="lane state[^"]*" data-lane=/g)).toHaveLength(shown.states.length);
    expect(html.match(/<tr id="req-\d+" [^>]*data-service="ironic"/g)).toHaveLength(shown.requests);
    expect(html.match(/<a class="req /g)).toHaveLength(shown.requests);
    expect(shown.requests).toBe(5); // lookup, 409 + 503 + 204 on the VIF, the provision request
    expect(shown.retries).toBe(2);
    expect(html.match(/<tr id="req-\d+" class="conflict retry"/g)).toHaveLength(1);
    // deleting may pass between two polls
    expect(html).toMatch(/id="provision-path">active → (deleting → )?cleaning → clean failed</);

    // `-` writes the same page to stdout.
    const out = await cli(cliArgs(sim, db, 'show', runId.slice(0, 8), '--html', '-'));
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(html);
  });

  it('collapses a long cleaning into one row per provision state (hundreds of observations)', async () => {
    const slow = await startSimulator({ deployMs: 40, deleteMs: 300, cleanMs: 1500, powerMs: 20, seed: 20 });
    try {
      const db = join(dir, 'long.db');
      const node = slow.addNode({ provisionState: 'active', instanceUuid: INSTANCE(2) }).uuid;
      const args = ['--ironic-url', slow.url, '--db', db, '--poll-interval', '5'];
      const d = await cli([
        ...args,
        '--json',
        'destroy',
        '--instance',
        INSTANCE(2),
        '--node',
        node,
        '--vif',
        'none',
        '--wait-for-available',
      ]);
      expect(d.code, d.stderr).toBe(0);
      const runId = json<{ runId: string }>(d).runId;
      const html = (await cli([...args, 'show', runId, '--html', '-'])).stdout;
      const counts = [
        ...html.matchAll(
          /<tr class="ps-[a-z]+"><td class="ps">([a-z ]+)[^<]*<\/td><td class="num">×([\d,]+)</g,
        ),
      ].map((m) => [m[1]!.trim(), Number(m[2]!.replace(/,/g, ''))] as const);
      // One row per state it went through, however many times each was seen.
      expect(counts.map(([s]) => s)).toEqual(['active', 'deleting', 'cleaning', 'available']);
      const cleaning = counts.find(([s]) => s === 'cleaning')![1];
      expect(cleaning).toBeGreaterThan(50);
      expect(html).toContain(`×${cleaning.toLocaleString('en-US')}`);
    } finally {
      await slow.close();
    }
  });

  it('says in one line when the file cannot be written, or the run is not there', async () => {
    const db = join(dir, 'failed.db');
    const bad = await cli(['--db', db, 'show', 'nope-not-a-run', '--html', join(dir, 'x.html')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ironledger: no run "nope-not-a-run" .*\[RUN_NOT_FOUND\]\n$/);
    const rows = json<Array<{ id: string }>>(await cli(['--db', db, '--json', 'runs']));
    const where = join(dir, 'no-such-dir', 'x.html');
    const r = await cli(['--db', db, 'show', rows[0]!.id, '--html', where]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^ironledger: cannot write the HTML timeline to .*no-such-dir\/x\.html: ENOENT.*\[CLI_OUTPUT_FILE\]\n$/,
    );
    const both = await cli(['--db', db, '--json', 'show', rows[0]!.id, '--html', '-']);
    expect(both.code).toBe(2);
    expect(json<{ error: { code: string } }>(both).error.code).toBe('CLI_USAGE');
  });
});

describe('show --html leaves out the secrets of the run', () => {
  const PASSWORD = 'Adm1n-Pw-html-3Kq!';
  const USER_DATA = '#cloud-config\nruncmd: [echo UD-html-secret-9z]\n';
  const TOKEN = 'gAAAAA-token-html-6b2f';
  const B64 = Buffer.from(USER_DATA, 'utf8').toString('base64');
  const NEEDLES: Array<[string, string]> = [
    ['admin password', PASSWORD],
    ['user data', USER_DATA],
    ['user data, JSON-escaped', JSON.stringify(USER_DATA).slice(1, -1)],
    ['user data, base64', B64],
    ['a line of the user data', 'UD-html-secret-9z'],
    ['auth token', TOKEN],
  ];

  it('a deploy whose last_error quotes the admin password, user data and token: none of them in the page', async () => {
    const db = join(dir, 'secrets.db');
    const node = sim.addNode({ provisionState: 'available' }).uuid;
    sim.failNextDeploy(
      node,
      `Deploy step failed: meta_data {"admin_pass": "${PASSWORD}"}; user_data ${JSON.stringify(USER_DATA)} (raw: ${USER_DATA}) base64 ${B64}; X-Auth-Token ${TOKEN}`,
    );
    const pw = join(dir, 'pw');
    const ud = join(dir, 'ud');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(ud, USER_DATA, { mode: 0o600 });
    const d = await cli(
      cliArgs(
        sim,
        db,
        '--json',
        'deploy',
        '--node',
        node,
        '--instance',
        INSTANCE(3),
        '--image-source',
        'file:///img/a.qcow2',
        '--admin-password-file',
        pw,
        '--user-data',
        ud,
      ),
      { OS_TOKEN: TOKEN },
    );
    expect(d.code, d.stderr).toBe(1);
    const runId = json<{ runId: string }>(d).runId;
    const file = join(dir, 'secrets.html');
    const r = await cli(cliArgs(sim, db, 'show', runId, '--html', file));
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(file);
    // The search is real: the page holds the run and Ironic's words around the secrets.
    expect(bytes.includes(Buffer.from(runId))).toBe(true);
    expect(bytes.includes(Buffer.from('Deploy step failed: meta_data'))).toBe(true);
    const html = bytes.toString('utf8');
    // And the forms HTML escaping would give them.
    const escape = (s: string): string =>
      s
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
    const found = NEEDLES.filter(([, n]) => html.includes(n) || html.includes(escape(n))).map(
      ([what]) => what,
    );
    expect(found).toEqual([]);
  });
});
