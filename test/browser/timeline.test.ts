// The `show --html` page of a failed teardown, opened in a real headless browser (Debian's
// chromium through playwright-core): the failure banner, one lane per machine state, every Ironic
// request in the table, a request's details on hover, nothing loaded from anywhere but the file,
// Ironic's words rendered as text, and a screenshot. IRONLEDGER_SCREENSHOT=PATH keeps the
// screenshot there too (docs/failed-teardown.png is made that way, see the README).
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { cli, json } from '../e2e/cli.js';
import { cliArgs, failedTeardown } from '../report/failed-teardown.js';

/** Debian's chromium; IRONLEDGER_CHROMIUM points elsewhere (e.g. at nothing, to see CI=true fail). */
const CHROMIUM = process.env.IRONLEDGER_CHROMIUM ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
if (!present && !ci)
  console.log(
    `SKIPPED the browser suite: no ${CHROMIUM} (install it: apt-get install -y chromium); with CI=true this fails`,
  );

const INSTANCE = (i: number): string => `b7043e00-0000-4000-8000-${String(i).padStart(12, '0')}`;
const LAST_ERROR =
  'Clean step erase_devices failed on node rack1-n07: ATA secure erase of /dev/sda failed (device is frozen); the node is in maintenance.';
const HOSTILE = `erase failed: <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> "q" 'q' &amp;`;

interface ShowJson {
  requests: number;
  retries: number;
  states: Array<{ state: string }>;
}

let sim: Simulator;
let dir: string;
let browser: Browser;

beforeAll(async () => {
  if (!present)
    throw new Error(`no ${CHROMIUM}: CI=true needs the browser suite to run (apt-get install -y chromium)`);
  sim = await startSimulator({ deployMs: 40, deleteMs: 150, cleanMs: 400, powerMs: 20, seed: 191 });
  dir = mkdtempSync(join(tmpdir(), 'ironledger-browser-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
});

afterAll(async () => {
  await browser?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Opens the page, recording every request the browser makes and every console error. */
async function open(file: string): Promise<{ page: Page; requested: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
  const requested: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  return { page, requested, errors };
}

describe.skipIf(!present && !ci)('show --html in chromium', () => {
  it('shows a failed teardown: banner, lanes, every request, details on hover; screenshot', async () => {
    const db = join(dir, 'teardown.db');
    const { runId, node } = await failedTeardown(sim, db, INSTANCE(1), LAST_ERROR, 'rack1-n07');
    const file = join(dir, 'teardown.html');
    const written = await cli(cliArgs(sim, db, 'show', runId, '--html', file));
    expect(written.code, written.stderr).toBe(0);
    const shown = json<ShowJson>(await cli(cliArgs(sim, db, '--json', 'show', runId)));

    const { page, requested, errors } = await open(file);
    // Nothing but the file itself was loaded, and nothing complained (a CSP violation would).
    expect(requested).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);

    // The failure banner, at the top of the first screen.
    const banner = page.locator('#verdict');
    expect(await banner.getAttribute('class')).toBe('banner failed');
    expect(await page.locator('#headline').textContent()).toBe(
      'destroy FAILED in unprovision.watching.cleaning (Ironic: clean failed)',
    );
    expect(await page.locator('#error .code').textContent()).toBe('CLEAN_FAILED');
    expect(await page.locator('#last-error span').textContent()).toBe(LAST_ERROR);
    const facts = await banner.locator('.facts').innerText();
    for (const fact of [
      runId,
      node,
      INSTANCE(1),
      'rack1-n07'.length ? node : '',
      'unprovision.watching.cleaning',
    ])
      expect(facts).toContain(fact);
    const box = await banner.boundingBox();
    expect(box?.y).toBe(0);

    // One lane per machine state, in order, and the one it failed in marked.
    const lanes = page.locator('.lane.state');
    expect(await lanes.count()).toBe(shown.states.length);
    expect(await lanes.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(
      shown.states.map((s) => s.state),
    );
    expect(await page.locator('.lane.state.failed-here').getAttribute('data-state')).toBe(
      'unprovision.watching.cleaning',
    );

    // Every Ironic request the run recorded, as a row and as a mark.
    const rows = page.locator('#request-table tbody tr[data-service="ironic"]');
    expect(await rows.count()).toBe(shown.requests);
    expect(await page.locator('a.req').count()).toBe(shown.requests);
    expect(await page.locator('#request-count').textContent()).toBe(String(shown.requests));
    expect(shown.requests).toBe(5);

    // Hovering the 409 shows what the table's row says about it.
    const conflict = page.locator('a.req.conflict');
    expect(await conflict.count()).toBe(1);
    const n = await conflict.getAttribute('data-req');
    const cells = await page.locator(`#req-${n} td`).allInnerTexts();
    const [, , method, path, status, attempt, ms] = cells;
    expect([method, status, attempt]).toEqual(['DELETE', '409', '1']);
    expect(path).toMatch(new RegExp(`^/v1/nodes/${node}/vifs/vif-0001$`));
    const tip = page.locator('#tip');
    expect(await tip.isVisible()).toBe(false);
    await conflict.hover();
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.textContent()).toBe(
      `#${n} DELETE ${path} · status 409 · attempt 1 · ${ms} ms · at ${cells[1]} · will retry`,
    );
    // Retries are highlighted in the table too.
    expect(await page.locator('#request-table tr.retry').count()).toBe(shown.retries);

    const png = join(dir, 'failed-teardown.png');
    await page.screenshot({ path: png });
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.IRONLEDGER_SCREENSHOT) copyFileSync(png, process.env.IRONLEDGER_SCREENSHOT);
    await page.close();
  });

  it("renders Ironic's last_error as text: no script of it runs, no element of it exists", async () => {
    const db = join(dir, 'hostile.db');
    const { runId } = await failedTeardown(sim, db, INSTANCE(2), HOSTILE);
    const file = join(dir, 'hostile.html');
    const written = await cli(cliArgs(sim, db, 'show', runId, '--html', file));
    expect(written.code, written.stderr).toBe(0);
    const { page, requested, errors } = await open(file);
    expect(await page.locator('#last-error span').textContent()).toBe(HOSTILE);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    expect(requested).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
