/**
 * Out-of-memory recognition (main/training/engine/oom.ts) on the messages the engines really produce:
 * TensorFlow's and CUDA's as users reported them (tfjs-node-gpu and TensorFlow issue threads cited per
 * case), and the wasm backend's, produced here by filling its 4 GB heap in a child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOutOfMemory, oomDetail, outOfMemoryMessage, OUT_OF_MEMORY_CODE } from '../../../main/training/engine/oom.js';
import { OutOfMemoryError, TrainError } from '../../../main/training/engine/trainer.js';

const TENSORFLOW: [string, string][] = [
  // tensorflow/tfjs#2760: tfjs-node-gpu's binding error (TF_Status 8 = RESOURCE_EXHAUSTED).
  [
    'tfjs-node-gpu',
    'Error: Invalid TF_Status: 8\nMessage: OOM when allocating tensor with shape[1,3688,3688,3] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc',
  ],
  // tensorflow/tensorflow#17669 / Azure/MachineLearningNotebooks#880: Python TensorFlow's exception.
  ['ResourceExhaustedError', 'ResourceExhaustedError: 2 root error(s) found.\n  (0) Resource exhausted: OOM when allocating tensor with shape[16,112,112,147] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc'],
  // tensorflow/tfjs#808: the op kernel's log line.
  ['op kernel', 'W tensorflow/core/framework/op_kernel.cc:1273] OP_REQUIRES failed at cwise_ops_common.cc:70 : Resource exhausted: OOM when allocating tensor with shape[1,187,103,4] and type float'],
  // tensorflow/tensorflow#30912: the CUDA driver's allocation failure.
  ['CUDA driver', 'E tensorflow/stream_executor/cuda/cuda_driver.cc:828] failed to allocate 32.00M (33554432 bytes) from device: CUDA_ERROR_OUT_OF_MEMORY: out of memory'],
  // tensorflow/tensorflow#12237: the same without the trailing text.
  ['CUDA driver (old)', 'E tensorflow/stream_executor/cuda/cuda_driver.cc:924] failed to allocate 1.51G (1617277696 bytes) from device: CUDA_ERROR_OUT_OF_MEMORY'],
  // intel/webml-polyfill#139: Emscripten's abort when a heap cannot grow.
  ['Emscripten', 'abort("Cannot enlarge memory arrays. Either (1) compile with  -s TOTAL_MEMORY=X  with X higher than the current value 267649024, (2) compile with  -s ALLOW_MEMORY_GROWTH=1'],
  // V8: a typed array the heap cannot hold.
  ['V8', 'RangeError: Array buffer allocation failed'],
];

const NOT_OOM = [
  'Error: Invalid TF_Status: 3\nMessage: Incompatible shapes: [2,4] vs. [2,5]',
  'the loss is NaN',
  'Error: Conv2D: filter must match input depth',
  'ENOENT: no such file or directory',
];

describe('out-of-memory errors are recognised and coded', () => {
  it.each(TENSORFLOW)('%s', (_, msg) => {
    expect(isOutOfMemory(msg)).toBe(true);
  });

  it('other engine errors are not out of memory', () => {
    for (const m of NOT_OOM) expect(isOutOfMemory(m), m).toBe(false);
  });

  it('the message names the micro-batch to lower and keeps the engine’s line', () => {
    const detail = oomDetail(TENSORFLOW[0]![1]);
    expect(detail).toBe('OOM when allocating tensor with shape[1,3688,3688,3] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc');
    const e = new OutOfMemoryError(outOfMemoryMessage('at epoch 1, iteration 3 on tensorflow-gpu', 16, detail));
    expect(e).toBeInstanceOf(TrainError);
    expect(e.code).toBe(OUT_OF_MEMORY_CODE);
    expect(e.code).toBe('E_OUT_OF_MEMORY');
    expect(e.message).toMatch(/^out of memory at epoch 1, iteration 3 on tensorflow-gpu with micro-batch 16: lower the micro-batch \(training settings "Micro-batch", or --micro-batch 8\)/);
    expect(e.message).toContain('OOM when allocating tensor');
  });

  it('the wasm backend’s heap exhaustion, produced for real, is recognised', () => {
    // 800 MB tensors (an input and a sum each) until the 4 GB wasm32 heap is full, in a child process so the
    // heap is gone when it exits. tfjs-backend-wasm 4.22 then fails with "memory access out of bounds".
    const dir = mkdtempSync(join(process.cwd(), '.oom-')); // inside the worktree, so the script resolves its node_modules
    try {
      const script = join(dir, 'fill.mjs');
      writeFileSync(
        script,
        `import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm'); await tf.ready();
const keep = [];
try { for (let i = 0; i < 8; i++) keep.push(tf.add(tf.zeros([200 * 1024 * 1024]), 1)); console.log('no error'); }
catch (e) { console.log(String(e?.stack ?? e).split('\\n')[0]); }`,
      );
      const out = execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      console.log(`wasm heap full: ${out}`);
      expect(out).not.toBe('no error');
      expect(isOutOfMemory(out)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
