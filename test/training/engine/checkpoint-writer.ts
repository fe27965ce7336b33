/**
 * Child process for the checkpoint crash tests: `fresh DIR N` writes checkpoints for steps 1..N;
 * `resume DIR N` recovers the run's checkpoint (as the trainer does on resume) and writes the steps after
 * it up to N. REID_STUDIO_CHECKPOINT_KILL makes it die with SIGKILL at a chosen step of the protocol.
 * Tensor values are a function of the step, so the parent can tell which checkpoint it reads.
 */
import { recoverCheckpoint, writeCheckpoint } from '../../../main/runs/store/checkpoint.js';

export const stepTensors = (step: number) =>
  new Map([
    ['w', { shape: [256, 256], data: Float32Array.from({ length: 256 * 256 }, (_, i) => step + i / 65536) }],
    ['o', { shape: [3], data: Float32Array.from([step, -step, step * 2]) }],
  ]);

async function main(): Promise<void> {
  const [mode, dir, n] = process.argv.slice(2);
  let from = 1;
  if (mode === 'resume') {
    const c = await recoverCheckpoint<{ step: number }>(dir!);
    if (!c) throw new Error('no checkpoint to resume from');
    from = c.meta.step + 1;
  }
  for (let step = from; step <= Number(n); step++) await writeCheckpoint(dir!, { tensors: stepTensors(step), meta: { step } });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) void main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
