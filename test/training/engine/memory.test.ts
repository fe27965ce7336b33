/**
 * Micro-batch planning against the device's memory (main/training/engine/memory.ts), with injected memory
 * figures and plans computed by hand below. The one outside reference is the measurement the estimate is
 * calibrated on: resnet50 at 256×128 trains in the wasm heap with batch 4 and runs out of it with batch 8.
 */
import { describe, expect, it } from 'vitest';
import { analyze, buildPreset } from '../../../core/index.js';
import { deviceMemory, parseNvidiaSmiMemory, planMicroBatch, type MemoryProbe } from '../../../main/training/engine/memory.js';
import { microBatchSlices } from '../../../main/training/engine/step.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/*
 * A graph with a 256×128×3 input and one 256×128×64 layer output, 25 M parameters:
 *   activation floats per image = 98 304 + 2 097 152 = 2 195 456; × 24 bytes = 52 690 944 bytes per image
 *   fixed = 25 000 000 parameters × 4 copies (weights, gradients, two Adam moments) × 4 bytes = 400 000 000
 */
const A = { inputShape: [256, 128, 3], layers: [{ shape: [256, 128, 64] }], totals: { params: 25_000_000 } } as unknown as Parameters<typeof planMicroBatch>[0];
const BYTES_PER_IMAGE = 52_690_944;
const FIXED = 400_000_000;

const probe = (o: { total?: number; free?: number; smi?: string | null }): MemoryProbe => ({
  totalmem: () => o.total ?? 16e9,
  freemem: () => o.free ?? 3e9,
  nvidiaSmiMemory: () => o.smi ?? null,
});

describe('micro-batch plan from the device memory', () => {
  it('tfjs-node (CPU): 0.7 × the host memory available', () => {
    // (3e9 × 0.7 − 4e8) / 52 690 944 = 1.7e9 / 52 690 944 = 32.26 → 32
    const m = deviceMemory('tensorflow', { probe: probe({ total: 16e9, free: 3e9 }) });
    expect(m).toMatchObject({ device: 'host memory', usableBytes: 3e9 * 0.7 });
    const plan = planMicroBatch(A, 64, m);
    expect(plan).toMatchObject({ microBatch: 32, bytesPerImage: BYTES_PER_IMAGE, budgetBytes: 3e9 * 0.7 - FIXED });
    expect(plan.reason).toBe('batch 64 split into micro-batches of 32 (50 MiB per image, 1.6 GiB usable: host memory: 2.8 GiB available of 14.9 GiB × 0.7); BatchNorm statistics are per micro-batch');
    // A free figure above the total (containers report the host's) is capped at the total: 16e9 × 0.7 → 204 ≥ 64.
    expect(planMicroBatch(A, 64, deviceMemory('tensorflow', { probe: probe({ total: 16e9, free: 20e9 }) })).microBatch).toBe(64);
    // The plain JS backend keeps tensors in host memory too.
    expect(deviceMemory('cpu', { probe: probe({}) }).device).toBe('host memory');
  });

  it('tfjs-node-gpu: 0.8 × the free memory of the first GPU nvidia-smi lists', () => {
    // (2000 MiB × 0.8 − 4e8) / 52 690 944 = (1 677 721 600 − 400 000 000) / 52 690 944 = 24.25 → 24
    const smi = '8192, 2000\n24576, 23008\n';
    const m = deviceMemory('tensorflow-gpu', { onGpu: true, probe: probe({ smi }) });
    expect(m).toMatchObject({ device: 'GPU memory', usableBytes: 2000 * MiB * 0.8 });
    expect(m.source).toBe('GPU memory (nvidia-smi): 2.0 GiB free of 8.0 GiB × 0.8');
    expect(planMicroBatch(A, 64, m).microBatch).toBe(24);
  });

  it('tfjs-node-gpu without nvidia-smi assumes 4 GiB and says so; on the CPU it plans for the host', () => {
    // (4 GiB × 0.8 − 4e8) / 52 690 944 = 3 035 973 836.8 / 52 690 944 = 57.6 → 57
    const m = deviceMemory('tensorflow-gpu', { onGpu: true, probe: probe({ smi: null }) });
    expect(m.source).toBe('GPU memory not reported (no nvidia-smi): assuming 4.0 GiB × 0.8');
    const plan = planMicroBatch(A, 64, m);
    expect(plan.microBatch).toBe(57);
    expect(plan.reason).toContain('assuming 4.0 GiB');
    // No GPU device visible to TensorFlow: the host's memory applies (as for tfjs-node: 32).
    expect(planMicroBatch(A, 64, deviceMemory('tensorflow-gpu', { onGpu: false, probe: probe({ smi: '8192, 2000' }) })).microBatch).toBe(32);
  });

  it('wasm keeps its 4 GiB heap whatever the host has', () => {
    const m = deviceMemory('wasm', { probe: probe({ total: 512e9, free: 500e9 }) });
    expect(m).toMatchObject({ device: 'wasm heap', usableBytes: 4 * GiB * 0.8 });
    expect(planMicroBatch(A, 64, m).microBatch).toBe(57);
    expect(planMicroBatch(A, 16, m)).toMatchObject({ microBatch: 16, reason: 'the whole batch of 16 fits (50 MiB per image; wasm heap: 4.0 GiB (wasm32 limit) × 0.8)' });
  });

  it('the measured wasm limit: resnet50 256×128 fits micro-batch 4, not 8', () => {
    const a = analyze(buildPreset('resnet50', { input: [256, 128], numClasses: 751 } as never).graph);
    expect(a.inputShape).toEqual([256, 128, 3]);
    const plan = planMicroBatch(a, 64, deviceMemory('wasm'));
    expect(plan.microBatch).toBeGreaterThanOrEqual(4);
    expect(plan.microBatch).toBeLessThan(8);
  });

  it('the user’s micro-batch wins, clamped to 2…batch; nothing fits → 2 (BatchNorm needs two values per channel)', () => {
    const m = deviceMemory('wasm');
    expect(planMicroBatch(A, 64, m, 8)).toMatchObject({ microBatch: 8, reason: 'set by the user (8)' });
    expect(planMicroBatch(A, 64, m, 100)).toMatchObject({ microBatch: 64, reason: 'set by the user (100 → 64: the whole batch)' });
    expect(planMicroBatch(A, 64, m, 1)).toMatchObject({ microBatch: 2, reason: 'set by the user (1 → 2: BatchNorm needs at least 2 images)' });
    expect(planMicroBatch(A, 64, { device: 'GPU memory', usableBytes: FIXED / 2, source: 'tiny' }).microBatch).toBe(2);
    expect(planMicroBatch(A, 1, m, 1).microBatch).toBe(1);
  });

  it('micro-batches are as equal as possible: no one-image tail', () => {
    expect(microBatchSlices(16, 5)).toEqual([[0, 4], [4, 8], [8, 12], [12, 16]]);
    expect(microBatchSlices(16, 6)).toEqual([[0, 6], [6, 11], [11, 16]]);
    expect(microBatchSlices(16, 16)).toEqual([[0, 16]]);
    expect(microBatchSlices(7, 2)).toEqual([[0, 2], [2, 4], [4, 6], [6, 7]]);
  });

  it('parses nvidia-smi memory lines (MiB) and drops anything else', () => {
    expect(parseNvidiaSmiMemory('24576, 23008\n[N/A], [N/A]\nNVIDIA-SMI has failed\n')).toEqual([{ totalBytes: 24576 * MiB, freeBytes: 23008 * MiB }]);
  });
});
