import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, buildPreset } from '../../core/index.js';
import { CheckpointError, planLoad, readCheckpoint, type Checkpoint } from '../../main/weights/index.js';

/**
 * Whole-model pickles (`torch.save(model)`, as reid-strong-baseline's ignite checkpointer wrote them): the
 * reader walks the pickled modules' `_parameters` / `_buffers` / `_modules` as data and must give exactly
 * `model.state_dict()` as PyTorch computes it (make_whole_models.py), without executing anything from the
 * file: pickles that would run `touch MARKER` if Python unpickled them leave no marker.
 */

const PYTHON = '/usr/bin/python3';
let dir = '';
let marker = '';
const p = (f: string) => join(dir, f);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reid-whole-'));
  marker = join(dir, 'MARKER');
  execFileSync(PYTHON, [fileURLToPath(new URL('./make_whole_models.py', import.meta.url)), dir, marker], { stdio: ['ignore', 'ignore', 'inherit'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keys in state_dict order, shapes, dtypes and float32 bits equal what PyTorch's state_dict() holds. */
function expectStateDict(c: Checkpoint, refName: string): void {
  const meta = JSON.parse(readFileSync(p(`${refName}.ref.json`), 'utf8')) as Record<string, { shape: number[]; dtype: string; offset: number }>;
  const bin = readFileSync(p(`${refName}.ref.bin`));
  expect([...c.tensors.keys()]).toEqual(Object.keys(meta));
  const wrong: string[] = [];
  for (const [k, m] of Object.entries(meta)) {
    const t = c.tensors.get(k)!;
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const refBytes = bin.subarray(m.offset, m.offset + 4 * t.data.length);
    if (JSON.stringify(t.shape) !== JSON.stringify(m.shape) || t.dtype !== m.dtype || !bytes.equals(refBytes)) wrong.push(k);
  }
  expect(wrong).toEqual([]);
}

describe('torch.save(model) loads as model.state_dict()', () => {
  it('RSB Baseline over torchvision resnet18 (zip format): 128 entries, bit-exact, non-persistent buffer left out', async () => {
    const c = await readCheckpoint(p('baseline.pth'));
    // resnet18: 20 conv + 20 BN × 5 + fc (2) = 122; bottleneck BN 5; classifier 1 → 128 (no `scratch`).
    expect(c.tensors.size).toBe(128);
    expect(c.model).toBe('__main__.Baseline');
    expect(c.format).toBe('pytorch-zip');
    expectStateDict(c, 'baseline');
    expect(c.tensors.has('scratch')).toBe(false);
  });

  it('the legacy (pre-1.6) format and a {"model": model} wrapper give the same state dict', async () => {
    const legacy = await readCheckpoint(p('baseline_legacy.pth'));
    expect(legacy.format).toBe('pytorch-legacy');
    expectStateDict(legacy, 'baseline');
    const wrapped = await readCheckpoint(p('baseline_in_dict.pth'));
    expect(wrapped.wrapper).toBe('model');
    expectStateDict(wrapped, 'baseline');
  });

  it('DataParallel(model): keys under module., as its state_dict has them', async () => {
    const c = await readCheckpoint(p('baseline_dp.pth'));
    expect(c.model).toBe('torch.nn.parallel.data_parallel.DataParallel');
    expectStateDict(c, 'baseline_dp');
  });

  it('a module shared under two names appears under both, in state_dict order', async () => {
    expectStateDict(await readCheckpoint(p('tied.pth')), 'tied');
  });

  it('the flattened state dict maps onto the resnet18 BNNeck graph like a saved state_dict', async () => {
    const a = analyze(buildPreset('resnet18', { numClasses: 751 }).graph);
    expect(a.ok).toBe(true);
    for (const f of ['baseline.pth', 'baseline_dp.pth']) {
      const { report } = planLoad(a.layers, await readCheckpoint(p(f)), { keepClassifier: true });
      expect(report.missing, f).toEqual([]);
      expect(report.counts.mismatched, f).toBe(0);
    }
  });
});

describe('the reader never executes anything from the file', () => {
  it('os.system / eval objects beside a state dict are inert data: the tensors load, nothing runs', async () => {
    const c = await readCheckpoint(p('evil_beside_tensors.pth'));
    expect(c.wrapper).toBe('state_dict');
    expect([...c.tensors.get('w')!.data]).toEqual([0, 1, 2, 3]);
    expect(existsSync(marker)).toBe(false);
  });

  it('a file whose whole content is an os.system call is refused with a one-line CheckpointError', async () => {
    const e = await readCheckpoint(p('evil_root.pth')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as CheckpointError).message).toMatch(/holds a pickled posix\.system object, not a model or a state_dict/);
    expect((e as CheckpointError).code).toBe('E_MALFORMED_CHECKPOINT');
    expect(existsSync(marker)).toBe(false);
  });

  it('callables hidden in a pickled model\'s attributes stay inert; its parameters load', async () => {
    expectStateDict(await readCheckpoint(p('evil_in_model.pth')), 'evil_in_model');
    expect(existsSync(marker)).toBe(false);
  });

  it('the same pickles do run code in Python: the marker test can fail', () => {
    // Control: Python's unpickler executes evil_root.pth; our reader above must not have.
    execFileSync(PYTHON, ['-c', `import torch; torch.load(${JSON.stringify(p('evil_root.pth'))})`], { stdio: 'ignore' });
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
  });
});
