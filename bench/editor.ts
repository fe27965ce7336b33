/**
 * Benchmark (not a test): `npx tsx bench/editor.ts [--json]`.
 *
 * Large-graph usability of the editor in headless Chromium against browser mode (`reid-studio serve`):
 * a ResNet-152 Baseline with every stage expanded into its blocks (58 nodes) and fully expanded down to
 * primitive layers (516 nodes), laid out by ELK. Measures
 *  - open: from pressing Enter in the Open dialog to the document rendered and the next frame painted
 *    (API call, parse, analysis, projection, React Flow render);
 *  - frame times while panning the canvas and while dragging a node.
 * Frame intervals are bound to 60 Hz (16.7 ms = no dropped frame), so the main-thread work per frame is
 * measured too: from the frame's first pointer event to after that frame's rendering.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { applyCommand, buildPreset, expandNode, serializeDocument, type GraphDoc } from '../core/index.js';
import { cleanup, launchBrowser, openApp, serve } from '../test/e2e/harness.js';
import { layoutGraph } from '../renderer/src/lib/layout.js';

const json = process.argv.includes('--json');

function expanded(full: boolean): GraphDoc {
  let doc = buildPreset('resnet152');
  for (const id of ['stem', 'layer1', 'layer2', 'layer3', 'layer4']) doc = applyCommand(doc, expandNode(id));
  if (full) for (const n of doc.graph.nodes.filter((x) => x.kind === 'bottleneck')) doc = applyCommand(doc, expandNode(n.id));
  return doc;
}

/** The editor's own auto-layout (ELK, wrapped into rows), as a user would have saved it. */
async function layout(doc: GraphDoc): Promise<GraphDoc> {
  const pos = new Map((await layoutGraph(doc.graph, () => undefined)).map((p) => [p.id, p.position]));
  return { ...doc, graph: { ...doc.graph, nodes: doc.graph.nodes.map((n) => ({ ...n, position: pos.get(n.id)! })) } };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { frames: s.length, median: +q(0.5).toFixed(1), p95: +q(0.95).toFixed(1), max: +s[s.length - 1]!.toFixed(1) };
};

async function recordFrames(page: Page, interact: () => Promise<void>) {
  // A string, not a function: tsx's keepNames helper (__name) does not exist in the page.
  // frames: rAF-to-rAF interval (60 Hz vsync bound: 16.7 ms means no dropped frame).
  // work: from the first pointer event of a frame to after that frame's rendering (a message posted from
  // rAF runs after style/layout/paint): the main-thread cost of one frame of interaction.
  await page.evaluate(`(() => {
    window.__frames = []; window.__work = []; window.__rec = true;
    let last = 0, pending = null;
    const ch = new MessageChannel();
    let startOf = [];
    ch.port1.onmessage = () => { const s = startOf.shift(); if (s !== undefined) window.__work.push(performance.now() - s); };
    window.__onMove = () => { if (pending === null) pending = performance.now(); };
    window.addEventListener('pointermove', window.__onMove, { capture: true });
    const tick = (t) => {
      window.__frames.push(t - last); last = t;
      if (pending !== null) { startOf.push(pending); pending = null; ch.port2.postMessage(0); }
      if (window.__rec) requestAnimationFrame(tick);
    };
    requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); });
  })()`);
  await interact();
  const r = (await page.evaluate(`(() => { window.__rec = false; window.removeEventListener('pointermove', window.__onMove, { capture: true }); return { frames: window.__frames, work: window.__work }; })()`)) as { frames: number[]; work: number[] };
  return { interval: stats(r.frames), work: stats(r.work) };
}

async function openTimed(page: Page, path: string, nodes: number) {
  // The previous case left unsaved edits: a new page first offers to recover them.
  if (await page.getByTestId('confirm-dialog').count()) await page.getByTestId('confirm-discard').click();
  await page.keyboard.press('Control+o');
  const input = page.getByTestId('file-dir');
  // The dialog fills this field with the folder listing's path once it loads: type after that.
  await page.waitForFunction(() => (document.querySelector('[data-testid="file-dir"]') as HTMLInputElement | null)?.value);
  await input.fill(path);
  await page.evaluate(() => {
    document.querySelector('[data-testid="file-dir"]')!.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') (window as unknown as { __t0: number }).__t0 = performance.now();
    }, { capture: true, once: true });
  });
  const epoch = Number(await page.getByTestId('app').getAttribute('data-epoch'));
  await page.keyboard.press('Enter'); // the input keeps focus after fill
  // Done = a new document was loaded (epoch bumped), its nodes are in the DOM, and a frame was painted.
  await page.waitForFunction(
    ([e, n]) => Number(document.querySelector('[data-testid="app"]')?.getAttribute('data-epoch')) > e && document.querySelector('[data-testid="status-counts"]')?.textContent?.startsWith(`${n} blocks`) && document.querySelectorAll('.react-flow__node').length > 0,
    [epoch, nodes] as const,
    { timeout: 60_000, polling: 'raf' },
  );
  return page.evaluate(`new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => {
    const m = (n) => performance.getEntriesByName(n).pop()?.startTime ?? NaN;
    const t = { total: performance.now() - window.__t0, fetch: m('open:fetched') - m('open:start'), parse: m('open:parsed') - m('open:fetched'), load: m('open:loaded') - m('open:parsed') };
    performance.clearMarks();
    ok(t);
  })))`) as Promise<{ total: number; fetch: number; parse: number; load: number }>;
}

async function pan(page: Page) {
  const box = (await page.getByTestId('canvas').boundingBox())!;
  const y = box.y + 12; // the top strip of the pane: background, not a node
  await page.mouse.move(box.x + box.width * 0.8, y);
  await page.mouse.down();
  for (let i = 0; i < 120; i++) await page.mouse.move(box.x + box.width * 0.8 - i * 4, y + Math.sin(i / 10) * 6);
  await page.mouse.up();
}

async function dragNode(page: Page, id: string) {
  const el = page.getByTestId(`node-${id}`);
  const b = (await el.boundingBox())!;
  const x = b.x + b.width / 2;
  const y = b.y + 8;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 0; i < 120; i++) await page.mouse.move(x + i * 2, y + Math.sin(i / 8) * 30);
  await page.mouse.up();
}

const dir = mkdtempSync(join(tmpdir(), 'reid-bench-'));
const cases = [
  { name: 'resnet152, stages expanded into blocks', doc: await layout(expanded(false)) },
  { name: 'resnet152, fully expanded to layers', doc: await layout(expanded(true)) },
];
const s = await serve();
const browser = await launchBrowser();
const results = [];
try {
  for (const c of cases) {
    const path = join(dir, `${c.name.replace(/\W+/g, '-')}.json`);
    writeFileSync(path, serializeDocument(c.doc));
    const page = await openApp(browser, s.url, { width: 1600, height: 900 });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await openTimed(page, path, c.doc.graph.nodes.length));
    await page.waitForTimeout(300);
    const panFit = await recordFrames(page, () => pan(page));
    // Working zoom: centre on a block in the middle of the network at 100 %.
    const mid = c.doc.graph.nodes[Math.floor(c.doc.graph.nodes.length / 2)]!.id;
    await page.getByTestId('problems').locator('button').first().click(); // collapse the problems panel
    await page.evaluate(() => window.dispatchEvent(new Event('reid:fit')));
    await page.waitForTimeout(400);
    const dragFit = await recordFrames(page, () => dragNode(page, mid));
    await page.keyboard.press('Control+z'); // put the block back (a drag is one undo step)
    // Working zoom: the block and its neighbours at ~100 % (zoom to selection), as one edits.
    await page.getByTestId(`node-${mid}`).click();
    await page.keyboard.press('Shift+F');
    await page.waitForTimeout(500);
    const panNear = await recordFrames(page, () => pan(page));
    await page.getByTestId(`node-${mid}`).click();
    await page.keyboard.press('Shift+F');
    await page.waitForTimeout(500);
    const dragNear = await recordFrames(page, () => dragNode(page, mid));
    await page.keyboard.press('Control+z');
    results.push({
      graph: c.name,
      nodes: c.doc.graph.nodes.length,
      edges: c.doc.graph.edges.length,
      openMs: open.map((x) => Math.round(x.total)),
      openPhases: open.map((x) => ({ fetch: Math.round(x.fetch), parse: Math.round(x.parse), analyseAndProject: Math.round(x.load) })),
      panAtFitView: panFit,
      dragNodeAtFitView: dragFit,
      panAtWorkingZoom: panNear,
      dragNodeAtWorkingZoom: dragNear,
    });
    await page.close();
  }
} finally {
  await browser.close();
  await s.stop();
  cleanup(s.home, s.docs, dir);
}
if (json) console.log(JSON.stringify(results, null, 2));
else
  for (const r of results) {
    console.log(`${r.graph}: ${r.nodes} nodes, ${r.edges} edges`);
    console.log(`  open → interactive: ${r.openMs.join(', ')} ms (3 runs; first = cold page)`);
    console.log(`    phases: ${r.openPhases.map((p) => `fetch ${p.fetch} + parse ${p.parse} + analyse/project ${p.analyseAndProject}`).join(' | ')} ms; rest = React/React Flow render`);
    for (const [what, m] of [
      ['pan, whole graph in view', r.panAtFitView],
      ['drag a node, whole graph in view', r.dragNodeAtFitView],
      ['pan at working zoom', r.panAtWorkingZoom],
      ['drag a node at working zoom', r.dragNodeAtWorkingZoom],
    ] as const) {
      console.log(`  ${what}: work per frame median ${m.work.median} ms, p95 ${m.work.p95} ms, max ${m.work.max} ms (${m.work.frames} frames);`);
      console.log(`    frame interval median ${m.interval.median} ms, p95 ${m.interval.p95} ms`);
    }
  }
