/**
 * The error taxonomy: every reliability case (`../shared/cases/reliability/`) is the user's problem, so the
 * CLI answers it with exit 0 or 2 (never 1, "internal error") and the service with a user error code (never
 * E_INTERNAL). One table, through the real CLI bundle and the real service.
 *
 * Already asserted elsewhere, so not repeated here: the pickle readers' codes (test/weights/hostile.test.ts);
 * st_nan_weights.safetensors through CLI weights / train / embed and train.start (test/weights/layouts.test.ts);
 * truncated-jpeg-dataset through CLI train (test/training/dataset-layouts.test.ts); a FIFO through CLI import /
 * summary and doc.open (test/io/files.test.ts); run id '..' through runs.delete / rename / get / ranklist and
 * train.resume, service and server (test/api/run-ids.test.ts). This table adds the routes those do not take.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import { Service } from '../../main/service/index.js';
import { cleanup } from '../e2e/harness.js';

const BIN = fileURLToPath(new URL('../../bin/reid-studio.js', import.meta.url));
const CASE = (name: string) => fileURLToPath(new URL(`../../../shared/cases/reliability/${name}`, import.meta.url));
const PICKLES = ['pickle_long4_negative_len.pth', 'pickle_binstring_negative_len.pth', 'zip_pkl_long4_negative_len.pth'];
const NAN = CASE('st_nan_weights.safetensors');
const TRUNCATED = CASE('truncated-jpeg-dataset');
const TRUNCATED_JPEG = join(TRUNCATED, 'bounding_box_train', '0006_c1s1_000001_00.jpg');

const tmp = mkdtempSync(join(tmpdir(), 'reid-no-internal-'));
const fifo = join(tmp, 'pipe.json');
execFileSync('mkfifo', [fifo]);
const doc = serializeDocument(buildPreset('resnet18', { input: [64, 32] }));

interface CliCase {
  name: string;
  args: string[];
  /** 2: refused as bad input; 0: done (the problem is reported, not fatal). */
  status: 0 | 2;
  stderr?: RegExp;
  /** A path the command must not have created (a refusal leaves nothing behind). */
  absent?: string;
}

const CLI: CliCase[] = [
  ...PICKLES.flatMap((p): CliCase[] => [
    { name: `weights ${p}`, args: ['weights', CASE(p)], status: 2, stderr: /malformed checkpoint/ },
    { name: `weights ${p} --preset`, args: ['weights', CASE(p), '--preset', 'resnet18'], status: 2, stderr: /malformed checkpoint/ },
    { name: `export --weights ${p}`, args: ['export', '--preset', 'resnet18', '--format', 'pytorch', '--weights', CASE(p), '--out', join(tmp, `export-${p}`)], status: 2, stderr: /malformed checkpoint/, absent: join(tmp, `export-${p}`) },
    { name: `embed --weights ${p}`, args: ['embed', '--preset', 'resnet18', '--input', '64x32', '--weights', CASE(p), '--images', join(TRUNCATED, 'query'), '--out', join(tmp, `feats-${p}.json`)], status: 2, stderr: /malformed checkpoint/, absent: join(tmp, `feats-${p}.json`) },
  ]),
  { name: 'train --weights negative-length pickle', args: ['train', '--preset', 'resnet18', '--input', '64x32', '--demo', '--demo-size', 'tiny', '--batch', '4,4', '--epochs', '1', '--backend', 'cpu', '--weights', CASE(PICKLES[0]!), '--out', join(tmp, 'run-pickle')], status: 2, stderr: /malformed checkpoint/, absent: join(tmp, 'run-pickle') },
  { name: 'weights FIFO', args: ['weights', fifo], status: 2, stderr: /is a FIFO, not a regular file/ },
  { name: 'export FIFO graph', args: ['export', fifo, '--format', 'graph', '--out', join(tmp, 'fifo-out.json')], status: 2, stderr: /is a FIFO, not a regular file/, absent: join(tmp, 'fifo-out.json') },
  { name: 'train FIFO graph', args: ['train', fifo, '--demo', '--epochs', '1', '--out', join(tmp, 'run-fifo')], status: 2, stderr: /is a FIFO, not a regular file/, absent: join(tmp, 'run-fifo') },
  { name: 'weights st_nan --preset (reported, not fatal)', args: ['weights', NAN, '--preset', 'resnet18'], status: 0 },
];

interface ServiceCase {
  name: string;
  method: string;
  payload: unknown;
  /** The user error code expected, or 'ok'. */
  code: string;
  /** What the one-line message must say. */
  message?: RegExp;
  /** For 'ok': what the result must hold (the problem is reported, not swallowed). */
  result?: unknown;
}

const SERVICE: ServiceCase[] = [
  ...PICKLES.flatMap((p): ServiceCase[] => [
    { name: `weights.inspect ${p}`, method: 'weights.inspect', payload: { path: CASE(p) }, code: 'E_MALFORMED_CHECKPOINT', message: /malformed checkpoint: negative length/ },
    { name: `weights.inspect ${p} with a graph`, method: 'weights.inspect', payload: { path: CASE(p), graph: { kind: 'doc', text: doc } }, code: 'E_MALFORMED_CHECKPOINT', message: /malformed checkpoint: negative length/ },
  ]),
  { name: 'train.start with negative-length pickle weights', method: 'train.start', payload: { doc, data: { kind: 'demo', size: 'tiny' }, weights: CASE(PICKLES[2]!) }, code: 'E_MALFORMED_CHECKPOINT', message: /malformed checkpoint: negative length/ },
  { name: 'weights.inspect st_nan (reported, not fatal)', method: 'weights.inspect', payload: { path: NAN, graph: { kind: 'doc', text: doc } }, code: 'ok' },
  { name: 'weights.inspect FIFO', method: 'weights.inspect', payload: { path: fifo }, code: 'E_CHECKPOINT_IO', message: /is a FIFO, not a regular file/ },
  { name: 'config.import FIFO', method: 'config.import', payload: { path: fifo }, code: 'E_BAD_REQUEST', message: /is a FIFO, not a regular file/ },
  { name: 'dataset.inspect truncated-jpeg-dataset', method: 'dataset.inspect', payload: { data: { kind: 'folder', path: TRUNCATED } }, code: 'ok', result: { numClasses: 5, problems: { unreadable: [{ path: TRUNCATED_JPEG }], identitiesDropped: [{ id: '6', images: 1 }] } } },
  { name: 'dataset.thumbnails of the truncated JPEG', method: 'dataset.thumbnails', payload: { paths: [TRUNCATED_JPEG] }, code: 'ok', result: [{ path: TRUNCATED_JPEG, dataUrl: null }] },
  { name: "runs.compare '..'", method: 'runs.compare', payload: { runIds: ['..', '.'] }, code: 'E_BAD_REQUEST', message: /run id/i },
  { name: "eval.run graph of run '..'", method: 'eval.run', payload: { graph: { kind: 'run', runId: '..' } }, code: 'E_BAD_REQUEST', message: /run id/i },
  { name: "eval.run weights of run '..'", method: 'eval.run', payload: { graph: { kind: 'doc', text: doc }, weights: { kind: 'run', runId: '..' } }, code: 'E_BAD_REQUEST', message: /run id/i },
];

afterAll(() => cleanup(tmp));

describe('no reliability case is an internal error', () => {
  it.each(CLI)('CLI $name: exit $status, one line, never "internal error"', ({ args, status, stderr, absent }) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(status);
    // Progress lines may come first (train prints the dataset summary); the error is one last line.
    if (status === 2) expect(r.stderr).toMatch(/(^|\n)reid-studio: error: [^\n]+\n$/);
    if (stderr) expect(r.stderr).toMatch(stderr);
    if (absent) expect(existsSync(absent)).toBe(false);
  });

  const home = mkdtempSync(join(tmpdir(), 'reid-no-internal-svc-'));
  const svc = new Service({ host: 'browser', version: '0', dataDir: home, documentsDir: home });
  afterAll(() => cleanup(home));

  it.each(SERVICE)('service $name: $code, never E_INTERNAL', async ({ method, payload, code, message, result }) => {
    const r = await svc.dispatch(method, payload);
    expect(r.ok ? 'ok' : r.error.code, r.ok ? '' : r.error.message).not.toBe('E_INTERNAL');
    expect(r.ok ? 'ok' : r.error.code, r.ok ? '' : r.error.message).toBe(code);
    if (!r.ok) expect(r.error.message).not.toMatch(/internal error|\n/);
    if (!r.ok && message) expect(r.error.message).toMatch(message);
    if (r.ok && result !== undefined) expect(r.result).toMatchObject(result as object);
    // A refused request leaves no run behind.
    expect(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []).toEqual([]);
  });
});
