/**
 * Export, config import, evaluation and weights inspection through the browser-mode server (the real
 * `reid-studio serve`, HTTP calls + WebSocket events). Outside references: the YAML is merged by the
 * frameworks' YACS rules (test/config/yacs_merge.py), the .pth is read by PyTorch, the dataset is counted
 * by Python from the folder listing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildPreset, serializeDocument } from '../../core/index.js';
import type { CallOutput, EventMessage } from '../../core/api/contract.js';
import { cleanup, serve, type Served } from '../e2e/harness.js';
import { customDoc } from '../export/graphs.js';
import { PYTHON } from '../parity/fixtures.js';

const YACS = fileURLToPath(new URL('../config/yacs_merge.py', import.meta.url));
const FR_CONFIG = fileURLToPath(new URL('../fixtures/configs/fastreid/Market1501/bagtricks_R50-ibn.yml', import.meta.url));

let s: Served;
let out: string;
const events: EventMessage[] = [];
let ws: WebSocket;

async function call<T = unknown>(method: string, payload: unknown): Promise<{ ok: boolean; result: T; error?: { code: string; message: string } }> {
  const r = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-reid-token': s.token }, body: JSON.stringify(payload) });
  return (await r.json()) as { ok: boolean; result: T; error?: { code: string; message: string } };
}

beforeAll(async () => {
  s = await serve();
  out = mkdtempSync(join(tmpdir(), 'reid-ops-'));
  ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`, { headers: { origin: `http://127.0.0.1:${s.port}` } });
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as EventMessage));
  await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
});
afterAll(async () => {
  ws?.close();
  expect(await s.stop()).toBe(0);
  cleanup(s.home, s.docs, out);
});

const r18 = { kind: 'doc', text: serializeDocument(buildPreset('resnet18', { input: [64, 32], numClasses: 11 })) };
/** The YAML formats size the classifier from the dataset (Market-1501: 751 identities). */
const r18Market = { kind: 'doc', text: serializeDocument(buildPreset('resnet18', { input: [64, 32] })) };

describe('export, import, evaluation and weights inspection through the server', () => {
  it('export.check refuses a graph reid-strong-baseline cannot express, with reasons, and export.run then writes nothing', async () => {
    const custom = { kind: 'doc', text: serializeDocument(customDoc()) };
    const check = await call<CallOutput<'export.check'>>('export.check', { format: 'rsb-yaml', graph: custom });
    expect(check.ok).toBe(true);
    expect(check.result.ok).toBe(false);
    expect(check.result.refusals.length).toBeGreaterThan(0);
    expect(check.result.refusals.join(' ')).toMatch(/IBN|GeM|neck|pool|layer/i);
    const target = join(out, 'refused.yml');
    const run = await call<CallOutput<'export.run'>>('export.run', { format: 'rsb-yaml', graph: custom, out: target });
    expect(run.result).toMatchObject({ ok: false, files: [] });
    expect(run.result.refusals).toEqual(check.result.refusals);
    expect(existsSync(target)).toBe(false);
    // The PyTorch export expresses it (a plain torch module).
    expect((await call<CallOutput<'export.check'>>('export.check', { format: 'pytorch', graph: custom })).result).toMatchObject({ ok: true, refusals: [] });
  });

  it('export.run writes YAML that merges into the framework defaults (yacs rules), and a graph document', async () => {
    const rsb = join(out, 'r18.yml');
    const fr = join(out, 'r18-fr.yml');
    const classes = await call<CallOutput<'export.run'>>('export.run', { format: 'rsb-yaml', graph: r18, out: rsb });
    // A classifier sized for other data is a note (both frameworks size it from the data they load), not a refusal.
    expect(classes.result).toMatchObject({ ok: true, refusals: [] });
    expect(classes.result.warnings.join(' ')).toMatch(/11 classes.*751/);
    expect((await call('export.run', { format: 'rsb-yaml', graph: r18Market, out: rsb, jobId: 'yaml-1' })).result).toMatchObject({ ok: true, files: [rsb] });
    expect((await call('export.run', { format: 'fastreid-yaml', graph: r18Market, out: fr, fastreidStem: true })).result).toMatchObject({ ok: true, files: [fr] });
    const merged = (fw: string, f: string) => JSON.parse(execFileSync(PYTHON, [YACS, fw, f], { encoding: 'utf8' })) as { ok: boolean; cfg: Record<string, Record<string, unknown>>; error?: string };
    const a = merged('rsb', rsb);
    expect(a.error).toBeUndefined();
    expect(a.cfg.MODEL!.NAME).toBe('resnet18');
    expect(a.cfg.INPUT!.SIZE_TEST).toEqual([64, 32]);
    const b = merged('fastreid', fr);
    expect(b.error).toBeUndefined();
    expect(b.cfg.MODEL!.BACKBONE).toMatchObject({ DEPTH: '18x' });
    const doc = join(out, 'r18.json');
    expect((await call('export.run', { format: 'graph', graph: r18, out: doc })).result).toMatchObject({ ok: true });
    expect(JSON.parse(readFileSync(doc, 'utf8'))).toMatchObject({ format: 'reid-studio-graph' });
    // Progress of the job this client named.
    const stages = events.filter((e) => e.event === 'export.progress' && (e.payload as { jobId: string }).jobId === 'yaml-1').map((e) => (e.payload as { stage: string }).stage);
    expect(stages).toEqual(['checking', 'writing', 'done']);
  });

  it('the PyTorch export loads in torch; weights.inspect lists the same keys and loads all of them into the graph', async () => {
    const dir = join(out, 'r18-pytorch');
    const r = await call<CallOutput<'export.run'>>('export.run', { format: 'pytorch', graph: r18, out: dir });
    expect(r.result).toMatchObject({ ok: true, files: ['model.py', 'model.pth'] });
    const pth = join(dir, 'model.pth');
    const torchKeys = JSON.parse(execFileSync(PYTHON, ['-c', 'import json,sys,torch; sd=torch.load(sys.argv[1], map_location="cpu"); print(json.dumps(list(sd.keys())))', pth], { encoding: 'utf8' })) as string[];
    const inspected = await call<CallOutput<'weights.inspect'>>('weights.inspect', { path: pth, graph: r18, keepClassifier: true });
    expect(inspected.ok).toBe(true);
    expect(inspected.result.tensors.map((t) => t.key)).toEqual(torchKeys);
    expect(inspected.result.report).toMatchObject({ counts: { missing: 0, mismatched: 0 } });
    expect(inspected.result.report!.counts.loaded).toBe(inspected.result.report!.counts.slots);
    const bad = await call('weights.inspect', { path: join(dir, 'model.py') });
    expect(bad).toMatchObject({ ok: false, error: { code: 'E_MALFORMED_CHECKPOINT' } }); // the reader's own code
  });

  it('config.import reads a fast-reid YAML with _BASE_ into a new document and lists the ignored keys', async () => {
    const r = await call<CallOutput<'config.import'>>('config.import', { path: FR_CONFIG });
    expect(r.ok).toBe(true);
    expect(r.result.framework).toBe('fastreid');
    const doc = JSON.parse(r.result.text) as { graph: { nodes: { params: Record<string, unknown> }[] } };
    expect(doc.graph.nodes.some((n) => n.params.norm === 'ibn_a')).toBe(true);
    expect(Array.isArray(r.result.ignored)).toBe(true);
    const missing = await call('config.import', { path: join(out, 'nope.yml') });
    expect(missing).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    expect(missing.error!.message).toMatch(/no such file/);
  });

  it('eval.run evaluates a graph + weights file on the demo dataset in the training process, with progress events', async () => {
    const pth = join(out, 'r18-pytorch', 'model.pth');
    const r = await call<CallOutput<'eval.run'>>('eval.run', { graph: r18, weights: { kind: 'file', path: pth }, data: { kind: 'demo', size: 'tiny' }, metric: 'euclidean', reRanking: true, jobId: 'eval-1' });
    expect(r.error).toBeUndefined();
    const res = r.result;
    // Query / gallery counts from the folder listing (Market-1501 names: pid -1 is junk, dropped).
    const demo = join(s.home, 'demo', 'tiny-seed0');
    const count = (split: string) => readdirSync(join(demo, split)).filter((f) => /\.jpg$/.test(f) && !f.startsWith('-1')).length;
    expect(res.numQuery).toBe(count('query'));
    expect(res.numGallery).toBe(count('bounding_box_test'));
    expect(res).toMatchObject({ metric: 'euclidean', reRanking: true, savedToRun: false, jobId: 'eval-1' });
    for (const k of ['mAP', 'rank1', 'rank5', 'rank10', 'mINP'] as const) expect(res[k]).toBeGreaterThanOrEqual(0);
    expect(res.mAP).toBeLessThanOrEqual(1);
    expect(res.cmc[0]).toBe(res.rank1);
    const progress = events.filter((e) => e.event === 'eval.progress' && (e.payload as { jobId: string }).jobId === 'eval-1').map((e) => e.payload as { stage: string; done: number; total: number });
    expect(progress.some((p) => p.stage === 'query' && p.done === p.total && p.total === res.numQuery)).toBe(true);
    expect(progress.some((p) => p.stage === 'gallery' && p.total === res.numGallery)).toBe(true);
    expect(progress.at(-1)!.stage).toBe('done');
  }, 240_000);

  it('eval.run needs a dataset for a graph, and bad weights fail with a message', async () => {
    expect(await call('eval.run', { graph: r18 })).toMatchObject({ ok: false, error: { code: 'E_BAD_REQUEST' } });
    const junk = join(out, 'junk.pth');
    writeFileSync(junk, 'not a checkpoint');
    const r = await call('eval.run', { graph: r18, weights: { kind: 'file', path: junk }, data: { kind: 'demo', size: 'tiny' } });
    // The weights reader's own code, as weights.inspect answers.
    expect(r).toMatchObject({ ok: false, error: { code: 'E_MALFORMED_CHECKPOINT' } });
    expect(r.error!.message).toMatch(/junk\.pth/);
    // A folder that is no dataset keeps the dataset reader's code (not a generic bad request).
    const notData = join(out, 'not-a-dataset');
    mkdirSync(notData, { recursive: true });
    writeFileSync(join(notData, 'readme.txt'), 'holiday photos');
    const d = await call('eval.run', { graph: r18, weights: { kind: 'file', path: join(out, 'r18-pytorch', 'model.pth') }, data: { kind: 'folder', path: notData } });
    expect(d.ok).toBe(false);
    expect(d.error!.code).toMatch(/^E_DATASET/);
    expect(await call('eval.run', { graph: r18, weights: { kind: 'file', path: join(out, 'missing.pth') }, data: { kind: 'demo', size: 'tiny' } })).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
  }, 120_000);
});
