// A run as one self-contained HTML page (`ironledger show RUN --html FILE`): where and why it
// failed at the top, one lane per machine state with its effects as bars and its Ironic requests as
// marks, the provision states Ironic reported over time (repeats collapsed), and every request in a
// table. Inline CSS and a few lines of inline JS (the tooltip) only: no URL, font, image or script
// is loaded, and a Content-Security-Policy says so to the browser. Every text is escaped; the
// input is the timeline reader's output, already scrubbed of secrets when it was recorded.
import type { JsonObject } from '../store/types.js';
import type { Timeline, TimelineEffect, TimelineRequest, TimelineState } from '../runlog/timeline.js';
import type { ObservedSpan } from './observations.js';

export interface HtmlReportInput {
  timeline: Timeline;
  observed: readonly ObservedSpan[];
}

/** Text for HTML content and attribute values (double- or single-quoted). */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** 3000 -> "3,000", independent of the machine's locale. */
export function thousands(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function clock(iso: string): string {
  return iso.slice(11, 23);
}

function dur(ms: number | null): string {
  if (ms === null) return 'unfinished';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

function ms(iso: string): number {
  return Date.parse(iso);
}

/** The page's time axis: from the run's start to the last thing it recorded. */
class Axis {
  readonly start: number;
  readonly end: number;
  constructor(t: Timeline, observed: readonly ObservedSpan[]) {
    this.start = ms(t.run.createdAt);
    let end = ms(t.run.updatedAt);
    for (const s of t.states) {
      end = Math.max(end, ms(s.enteredAt) + (s.ms ?? 0));
      for (const e of s.effects) {
        end = Math.max(end, ms(e.startedAt) + (e.ms ?? 0));
        for (const q of e.requests) end = Math.max(end, ms(q.at) + q.ms);
      }
    }
    for (const o of observed) end = Math.max(end, ms(o.lastAt));
    this.end = Math.max(end, this.start + 1);
  }
  get total(): number {
    return this.end - this.start;
  }
  /** A position on the axis as a CSS percentage. */
  at(t: number): string {
    const p = ((t - this.start) / this.total) * 100;
    return `${Math.min(100, Math.max(0, p)).toFixed(3)}%`;
  }
  width(from: number, to: number): string {
    const p = ((Math.max(to, from) - from) / this.total) * 100;
    return `${Math.min(100, Math.max(0, p)).toFixed(3)}%`;
  }
}

/** Consecutive repeats of an effect that succeeded without requests of their own make one bar. */
function groupEffects(effects: readonly TimelineEffect[]): TimelineEffect[][] {
  const groups: TimelineEffect[][] = [];
  for (const e of effects) {
    const prev = groups[groups.length - 1];
    const head = prev?.[0];
    const quiet = (x: TimelineEffect): boolean => x.outcome === 'succeeded' && x.requests.length === 0;
    if (prev && head && quiet(e) && quiet(head) && head.src === e.src) prev.push(e);
    else groups.push([e]);
  }
  return groups;
}

function statusText(q: TimelineRequest): string {
  return q.status === null ? (q.errorCode ?? 'no answer') : String(q.status);
}

/** CSS classes of a request: its status family, a 409, a retry, a Keystone token request. */
function requestClasses(q: TimelineRequest): string {
  const c: string[] = [];
  if (q.status === null || q.status >= 500) c.push('bad');
  else if (q.status === 409) c.push('conflict');
  else if (q.status >= 400) c.push('warn');
  else c.push('ok');
  if (q.willRetry) c.push('retry');
  if (q.attempt > 1) c.push('again');
  if (q.reauth !== null) c.push('keystone');
  return c.join(' ');
}

function requestTip(q: TimelineRequest): string {
  const parts = [
    `${q.method} ${q.path}`,
    `status ${statusText(q)}`,
    `attempt ${q.attempt}`,
    `${thousands(q.ms)} ms`,
    `at ${clock(q.at)}`,
  ];
  if (q.willRetry) parts.push('will retry');
  if (q.reauth !== null) parts.push(`Keystone token (${q.reauth})`);
  return parts.join(' · ');
}

function errorLine(e: JsonObject | null): string {
  if (!e) return '';
  return `${String(e.code ?? '')}: ${String(e.message ?? '')}`;
}

function effectTip(group: TimelineEffect[]): string {
  const e = group[0]!;
  const last = group[group.length - 1]!;
  const parts =
    group.length > 1
      ? [`${e.src} ×${thousands(group.length)}`, `from ${clock(e.startedAt)}`]
      : [`${e.src} ${e.outcome}`, `${dur(e.ms)}`, `from ${clock(e.startedAt)}`];
  if (e.observations > 0) parts.push(`${thousands(e.observations)} observations`);
  if (group.length === 1 && e.observed) parts.push(`saw ${e.observed}`);
  if (last.lastError) parts.push(`last_error: ${last.lastError}`);
  if (e.error) parts.push(errorLine(e.error));
  if (e.requests.length) parts.push(`${e.requests.length} requests`);
  return parts.join(' · ');
}

/** A CSS class for a provision state, so that failures stand out and waits look alike. */
function stateClass(state: string): string {
  if (/fail|error/.test(state)) return 'ps-bad';
  if (/wait/.test(state)) return 'ps-wait';
  if (/^(available|active|manageable|enroll)$/.test(state)) return 'ps-stable';
  return 'ps-busy';
}

interface Numbered {
  n: number;
  q: TimelineRequest;
  state: TimelineState;
  effect: TimelineEffect;
}

function numberRequests(t: Timeline): Numbered[] {
  const out: Numbered[] = [];
  for (const state of t.states)
    for (const effect of state.effects)
      for (const q of effect.requests) out.push({ n: out.length + 1, q, state, effect });
  return out;
}

function fact(name: string, value: string | null | undefined, cls = ''): string {
  if (value === null || value === undefined || value === '') return '';
  return `<div class="fact${cls ? ` ${cls}` : ''}"><dt>${esc(name)}</dt><dd>${esc(value)}</dd></div>`;
}

function banner(t: Timeline, axis: Axis, requests: Numbered[]): string {
  const r = t.run;
  const f = t.failure;
  const conflicts = requests.filter((x) => x.q.status === 409).length;
  const lines: string[] = [];
  let headline: string;
  if (f) {
    headline = `${r.op} FAILED in ${f.state ?? 'an unknown state'}${f.ironicState ? ` (Ironic: ${f.ironicState})` : ''}`;
    const code = typeof f.error?.code === 'string' ? f.error.code : null;
    const message = typeof f.error?.message === 'string' ? f.error.message : null;
    lines.push(
      `<p class="why" id="error"><b class="code">${esc(code ?? 'no error code')}</b> ${esc(message ?? 'no error recorded')}</p>`,
    );
    if (f.ironicLastError)
      lines.push(
        `<p class="why" id="last-error"><b>Ironic last_error</b> <span>${esc(f.ironicLastError)}</span></p>`,
      );
  } else if (r.status === 'succeeded') headline = `${r.op} succeeded`;
  else if (r.status === 'running') headline = `${r.op} unfinished (last state ${r.state ?? 'none'})`;
  else headline = `${r.op} ${r.status} (last state ${r.state ?? 'none'})`;
  const facts = [
    fact('run', r.id),
    fact('operation', r.op),
    fact('status', r.status),
    fact('machine state', f?.state ?? r.state),
    fact('Ironic state', f?.ironicState),
    fact('error code', typeof f?.error?.code === 'string' ? f.error.code : null),
    fact('node', r.nodeUuid),
    fact('node name', r.nodeName),
    fact('instance', r.instanceUuid),
    fact('machine', `${r.machine} v${r.machineVersion}`),
    fact('started', r.createdAt),
    fact('last update', r.updatedAt),
    fact('duration', dur(axis.total)),
    fact('events', thousands(t.events)),
    fact('Ironic requests', thousands(t.requests)),
    fact('retries', thousands(t.retries), t.retries > 0 ? 'hot' : ''),
    fact('409 answers', thousands(conflicts), conflicts > 0 ? 'hot' : ''),
    t.reauthentications > 0 ? fact('Keystone token requests', thousands(t.reauthentications)) : '',
  ].join('');
  const cls = f ? 'failed' : r.status;
  return `<header id="verdict" class="banner ${esc(cls)}" data-status="${esc(r.status)}"><h1 id="headline">${esc(headline)}</h1>${lines.join('')}<dl class="facts">${facts}</dl></header>`;
}

function ticks(axis: Axis): string {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const t = axis.start + (axis.total * i) / 4;
    const label = i === 0 ? clock(new Date(t).toISOString()) : `+${dur(t - axis.start)}`;
    out.push(`<span class="tick" style="left:${axis.at(t)}">${esc(label)}</span>`);
  }
  return `<div class="lane axis"><div class="label">time</div><div class="track">${out.join('')}</div></div>`;
}

function provisionLane(axis: Axis, observed: readonly ObservedSpan[]): string {
  if (observed.length === 0) return '';
  const segs = observed.map((o, i) => {
    const next = observed[i + 1];
    const from = ms(o.firstAt);
    const to = next ? ms(next.firstAt) : Math.max(ms(o.lastAt), from);
    const tip = `${o.label} ×${thousands(o.count)}, ${clock(o.firstAt)}–${clock(o.lastAt)}${o.lastError ? ` · last_error: ${o.lastError}` : ''}`;
    return `<span class="seg ${stateClass(o.provisionState)}" style="left:${axis.at(from)};width:${axis.width(from, to)}" data-tip="${esc(tip)}" tabindex="0"></span>`;
  });
  return `<div class="lane provision"><div class="label">Ironic provision state<small>${thousands(observed.length)} spans</small></div><div class="track">${segs.join('')}</div></div>`;
}

function stateLane(
  axis: Axis,
  s: TimelineState,
  index: number,
  failedIn: string | null,
  numbers: Map<TimelineRequest, number>,
): string {
  const from = ms(s.enteredAt);
  const to = from + (s.ms ?? axis.end - from);
  const bars: string[] = [];
  const groups = groupEffects(s.effects);
  groups.forEach((g, i) => {
    const e = g[0]!;
    const last = g[g.length - 1]!;
    const start = ms(e.startedAt);
    const end = ms(last.startedAt) + (last.ms ?? axis.end - ms(last.startedAt));
    const name = g.length > 1 ? `${e.src} ×${thousands(g.length)}` : e.src;
    const cls = g.length > 1 ? 'succeeded' : e.outcome;
    const row = i % 3;
    bars.push(
      `<span class="effect ${esc(cls)} row${row}" style="left:${axis.at(start)};width:${axis.width(start, end)}" data-tip="${esc(effectTip(g))}" tabindex="0"><i>${esc(name)}</i></span>`,
    );
    for (const eff of g)
      for (const q of eff.requests) {
        const n = numbers.get(q) ?? 0;
        bars.push(
          `<a class="req ${requestClasses(q)}" href="#req-${n}" style="left:${axis.at(ms(q.at))}" data-tip="${esc(`#${n} ${requestTip(q)}`)}" data-req="${n}" aria-label="request ${n}"></a>`,
        );
      }
  });
  const here = failedIn !== null && s.state === failedIn ? ' failed-here' : '';
  const final = s.state === 'failed' ? ' final-failed' : s.state === 'succeeded' ? ' final-succeeded' : '';
  const count = s.effects.length;
  const summary = count ? ` · ${thousands(count)} effect${count === 1 ? '' : 's'}` : '';
  return `<div class="lane state${here}${final}" data-lane="${index}" data-state="${esc(s.state)}"><div class="label"><b>${esc(s.state)}</b><small>${esc(clock(s.enteredAt))} · ${esc(dur(s.ms))}${esc(summary)}</small></div><div class="track"><span class="span" style="left:${axis.at(from)};width:${axis.width(from, to)}" data-tip="${esc(`${s.state} · entered ${clock(s.enteredAt)} · ${dur(s.ms)}`)}"></span>${bars.join('')}</div></div>`;
}

function observedTable(observed: readonly ObservedSpan[]): string {
  if (observed.length === 0) return '<p class="none">The run recorded no node observations.</p>';
  const total = observed.reduce((n, o) => n + o.count, 0);
  const rows = observed.map(
    (o) =>
      `<tr class="${stateClass(o.provisionState)}"><td class="ps">${esc(o.label)}</td><td class="num">×${thousands(o.count)}</td><td class="when">${esc(clock(o.firstAt))}–${esc(clock(o.lastAt))}</td><td>${esc(dur(ms(o.lastAt) - ms(o.firstAt)))}</td><td class="le">${esc(o.lastError ?? '')}</td></tr>`,
  );
  const path = observed.map((o) => o.provisionState).filter((s, i, a) => a[i - 1] !== s);
  return `<p class="path" id="provision-path">${esc(path.join(' → '))}</p><table id="observed-table"><thead><tr><th>provision state</th><th>observations</th><th>from–to</th><th>span</th><th>last_error</th></tr></thead><tbody>${rows.join('')}</tbody><tfoot><tr><td>${thousands(observed.length)} rows</td><td class="num">×${thousands(total)}</td><td colspan="3"></td></tr></tfoot></table>`;
}

function requestTable(requests: Numbered[]): string {
  if (requests.length === 0) return '<p class="none">The run made no Ironic requests.</p>';
  const rows = requests.map(({ n, q, state, effect }) => {
    const service = q.reauth === null ? 'ironic' : 'keystone';
    const flags = [
      q.status === 409 ? '<span class="badge conflict">409</span>' : '',
      q.willRetry ? '<span class="badge retry">retry</span>' : '',
      q.attempt > 1 ? '<span class="badge again">attempt ' + esc(q.attempt) + '</span>' : '',
      q.reauth !== null ? `<span class="badge keystone">Keystone token: ${esc(q.reauth)}</span>` : '',
    ].join('');
    return `<tr id="req-${n}" class="${requestClasses(q)}" data-service="${service}"><td class="num">${n}</td><td>${esc(clock(q.at))}</td><td>${esc(q.method)}</td><td class="path">${esc(q.path)}</td><td class="num st">${esc(statusText(q))}</td><td class="num">${esc(q.attempt)}</td><td class="num">${esc(thousands(q.ms))}</td><td>${esc(effect.src)}</td><td>${esc(state.state)}</td><td>${flags}</td></tr>`;
  });
  return `<table id="request-table"><thead><tr><th>#</th><th>at</th><th>method</th><th>path</th><th>status</th><th>attempt</th><th>ms</th><th>effect</th><th>machine state</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function notesList(t: Timeline): string {
  if (t.notes.length === 0) return '';
  const items = t.notes.map(
    (n) =>
      `<li class="${esc(n.level)}"><span>${esc(clock(n.at))}</span> <b>${esc(n.level.toUpperCase())}</b> ${esc(n.message)}</li>`,
  );
  return `<section id="notes"><h2>Notes</h2><ul>${items.join('')}</ul></section>`;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d232a;background:#f6f7f9}
main{padding:0 16px 24px}
h2{font-size:15px;margin:20px 0 8px}
code,.path,.ps,td,.le{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.banner{padding:14px 16px;border-bottom:3px solid #8a939c;background:#eef0f2}
.banner.failed{background:#fdecec;border-color:#c62828}
.banner.succeeded{background:#e9f6ec;border-color:#2e7d32}
.banner.running{background:#fff6e0;border-color:#b26a00}
.banner h1{margin:0 0 6px;font-size:19px}
.banner.failed h1{color:#b71c1c}
.why{margin:4px 0;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;white-space:pre-wrap;word-break:break-word}
.why b{font-family:system-ui,sans-serif;margin-right:6px}
.code{background:#c62828;color:#fff;padding:1px 6px;border-radius:3px}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0 0}
.fact{display:flex;gap:6px}.fact dt{color:#5f6b76}.fact dd{margin:0;font-family:ui-monospace,monospace;font-size:12px}
.fact.hot dd{color:#b26a00;font-weight:bold}
.legend{display:flex;flex-wrap:wrap;gap:12px;color:#5f6b76;margin:4px 0 8px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle;border-radius:2px}
.lanes{background:#fff;border:1px solid #d8dde2;border-radius:4px}
.lane{display:flex;border-top:1px solid #eef0f2;min-height:30px}
.lane:first-child{border-top:0}
.lane .label{flex:0 0 260px;padding:4px 8px;border-right:1px solid #eef0f2;overflow:hidden;text-overflow:ellipsis}
.lane .label b{font-family:ui-monospace,monospace;font-size:12px;font-weight:600;display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.lane .label small{display:block;color:#5f6b76}
.lane .track{position:relative;flex:1;min-height:30px;margin:0 8px}
.lane.axis{min-height:22px;background:#fafbfc}.lane.axis .track{min-height:22px}
.tick{position:absolute;top:3px;transform:translateX(-50%);color:#5f6b76;font-size:11px;white-space:nowrap}
.tick:first-child{transform:none}.tick:last-child{transform:translateX(-100%)}
.lane.failed-here{background:#fff3f3;box-shadow:inset 4px 0 #c62828}
.lane.final-failed .label b{color:#c62828}.lane.final-succeeded .label b{color:#2e7d32}
.span{position:absolute;top:3px;height:6px;min-width:2px;background:#90a4ae;border-radius:2px}
.failed-here .span{background:#e57373}
.effect{position:absolute;height:12px;min-width:3px;background:#64b5f6;border-radius:2px;overflow:hidden;font-size:10px;line-height:12px;color:#0d2a40;white-space:nowrap}
.effect i{font-style:normal;padding-left:3px}
.effect.row0{top:11px}.effect.row1{top:16px}.effect.row2{top:13px}
.effect.failed{background:#e57373;color:#fff}.effect.stopped{background:#b0bec5}.effect.unfinished{background:#ffd54f}
.req{position:absolute;top:2px;width:4px;height:24px;margin-left:-2px;border-radius:1px;background:#2e7d32;z-index:2}
.req.conflict{background:#ef6c00}.req.warn{background:#f9a825}.req.bad{background:#c62828}.req.keystone{background:#6a1b9a}
.req.retry{outline:2px solid #ef6c00;outline-offset:1px}
.req:hover,.req:focus,.effect:hover,.seg:hover{filter:brightness(1.25);outline:2px solid #1d232a}
.lane.provision .track{min-height:26px}
.seg{position:absolute;top:5px;height:16px;min-width:3px;border-right:1px solid #fff}
.seg.ps-stable{background:#81c784}.seg.ps-busy{background:#4fc3f7}.seg.ps-wait{background:#9575cd}.seg.ps-bad{background:#e53935}
tr.ps-bad td{background:#fdecec}
table{border-collapse:collapse;background:#fff;border:1px solid #d8dde2;width:100%}
th,td{padding:3px 6px;text-align:left;border-top:1px solid #eef0f2;vertical-align:top}
th{font:600 12px system-ui,sans-serif;background:#fafbfc}
td.num{text-align:right}td.when{white-space:nowrap}
td.path{word-break:break-all}
tr.conflict td{background:#fff3e0}tr.bad td{background:#fdecec}tr.retry td.st{font-weight:bold}
tbody td.ps{border-left:4px solid transparent}
tbody tr.ps-stable td.ps{border-left-color:#81c784}tbody tr.ps-busy td.ps{border-left-color:#4fc3f7}tbody tr.ps-wait td.ps{border-left-color:#9575cd}tbody tr.ps-bad td.ps{border-left-color:#e53935}
.badge{display:inline-block;padding:0 5px;margin-right:3px;border-radius:3px;font:11px system-ui,sans-serif;color:#fff}
.badge.conflict{background:#ef6c00}.badge.retry{background:#8d6e63}.badge.again{background:#546e7a}.badge.keystone{background:#6a1b9a}
.path#provision-path{margin:0 0 6px}
.none{color:#5f6b76}
#notes ul{margin:0;padding-left:18px}#notes li.warn{color:#b26a00}
#tip{position:fixed;z-index:10;max-width:560px;padding:6px 8px;background:#1d232a;color:#fff;border-radius:4px;font:12px/1.35 ui-monospace,"DejaVu Sans Mono",monospace;white-space:pre-wrap;word-break:break-word;pointer-events:none}
footer{color:#5f6b76;padding:8px 16px}
`;

/** Shows an element's data-tip (as text, never as HTML) next to the pointer or the focused mark. */
const JS = `(function(){var tip=document.getElementById('tip');
function show(el,x,y){tip.textContent=el.getAttribute('data-tip');tip.hidden=false;var w=tip.offsetWidth,h=tip.offsetHeight;
tip.style.left=Math.max(4,Math.min(x+12,innerWidth-w-4))+'px';tip.style.top=(y+18+h>innerHeight?Math.max(4,y-h-8):y+18)+'px';}
function find(t){return t&&t.closest?t.closest('[data-tip]'):null}
document.addEventListener('mouseover',function(e){var el=find(e.target);if(el)show(el,e.clientX,e.clientY);else tip.hidden=true;});
document.addEventListener('mousemove',function(e){if(!tip.hidden&&find(e.target))show(find(e.target),e.clientX,e.clientY);});
document.addEventListener('focusin',function(e){var el=find(e.target);if(el){var r=el.getBoundingClientRect();show(el,r.left,r.bottom-12);}});
document.addEventListener('focusout',function(){tip.hidden=true;});})();`;

/** The whole page. */
export function renderTimelineHtml({ timeline: t, observed }: HtmlReportInput): string {
  const axis = new Axis(t, observed);
  const requests = numberRequests(t);
  const numbers = new Map(requests.map((x) => [x.q, x.n] as const));
  const failedIn = t.failure?.state ?? null;
  const lanes = t.states.map((s, i) => stateLane(axis, s, i, failedIn, numbers)).join('');
  const ironic = requests.filter((x) => x.q.reauth === null).length;
  const keystone = requests.length - ironic;
  const title = `ironledger ${t.run.op} ${t.run.status} · run ${t.run.id}`;
  const legend = [
    '<span><i style="background:#90a4ae"></i>machine state</span>',
    '<span><i style="background:#64b5f6"></i>effect</span>',
    '<span><i style="background:#2e7d32"></i>request 2xx</span>',
    '<span><i style="background:#ef6c00"></i>409</span>',
    '<span><i style="background:#c62828"></i>5xx / no answer</span>',
    '<span><i style="outline:2px solid #ef6c00"></i>retried</span>',
  ].join('');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>`,
    banner(t, axis, requests),
    '<main>',
    `<section id="timeline"><h2>Timeline: ${thousands(t.states.length)} machine states over ${esc(dur(axis.total))}</h2><div class="legend">${legend}</div><div class="lanes">${ticks(axis)}${provisionLane(axis, observed)}${lanes}</div></section>`,
    `<section id="observed"><h2>Provision states Ironic reported (repeats collapsed)</h2>${observedTable(observed)}</section>`,
    `<section id="requests"><h2>Ironic requests: <span id="request-count">${thousands(ironic)}</span>${keystone ? ` (and ${thousands(keystone)} Keystone token requests)` : ''}, ${thousands(t.retries)} retried</h2>${requestTable(requests)}</section>`,
    notesList(t),
    '</main>',
    `<footer>ironledger show ${esc(t.run.id)} --html · ${thousands(t.events)} recorded events</footer>`,
    '<div id="tip" role="tooltip" hidden></div>',
    `<script>${JS}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
