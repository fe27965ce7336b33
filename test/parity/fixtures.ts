/**
 * Runs the PyTorch reference (reference.py) to generate parity fixtures into a fresh temp folder.
 * CI installs PyTorch (.ci/run), so the suite always runs; a missing torch is a failure, not a skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { forwardEval, type ReidModel } from '../../main/tfjs/index.js';
import { applyCommand, buildPreset, freezeBackbone, type GraphDoc, type PresetOptions } from '../../core/index.js';

export const PYTHON = '/usr/bin/python3';
const REFERENCE = fileURLToPath(new URL('./reference.py', import.meta.url));

export interface ParityCase {
  id: string;
  preset: string;
  neck: 'bnneck' | 'no';
  neckFeat: 'after' | 'before';
  lastStride: 1 | 2;
  numClasses: number;
  input: [number, number];
  batch: number;
  seed: number;
  freezeBackbone?: boolean;
  images?: { size: [number, number]; names: string[] };
  /** One-SGD-step cases; `reluTies`: also the float64 steps at the step's ReLU ties (reference.py relu_ties, train-check.ts). */
  train?: { lr: number; labels: number[]; featureWeight: number; reluTies?: boolean };
}

/** Runs a reference script (default reference.py) as `SCRIPT SPEC.json OUT_DIR` on `cases` in a fresh temp folder. */
export function generateFixtures(cases: readonly object[], script = REFERENCE): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'reid-parity-'));
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(cases));
  execFileSync(PYTHON, [script, join(dir, 'spec.json'), dir], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 280_000 });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function caseDoc(c: ParityCase): GraphDoc {
  const o: Partial<PresetOptions> = { neck: c.neck, neckFeat: c.neckFeat, lastStride: c.lastStride, numClasses: c.numClasses, input: c.input };
  const doc = buildPreset(c.preset, o);
  return c.freezeBackbone ? applyCommand(doc, freezeBackbone(true)) : doc;
}

/** max |a − b| and max |b| (the reference). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; ref: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    // NaN propagates as a failure: once diff is NaN it stays NaN (a later finite d must not replace it).
    if (!(d <= diff) && diff === diff) diff = d;
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return { diff, ref };
}

/**
 * Eval features of a built tfjs model on a fixture input file (float32 NHWC [n, h, w, 3]), as a flat
 * Float32Array; the tensors are disposed.
 */
export async function featuresOf(reid: ReidModel, inputFile: string, [n, h, w]: [number, number, number]): Promise<Float32Array> {
  const x = tf.tensor4d(readF32(inputFile), [n, h, w, 3]);
  const f = forwardEval(reid, x);
  const got = (await f.data()) as Float32Array;
  tf.dispose([x, f]);
  return got;
}
