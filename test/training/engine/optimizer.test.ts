import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelOptimizer } from '../../../main/training/engine/optimizer.js';
import { runPython } from '../../core/helpers.js';

function rand(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

describe('ModelOptimizer matches torch.optim', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const shapes = [[3, 2], [4], [2, 2, 2]];
  const steps = 6;
  const params = shapes.map((s, i) => rand(s.reduce((a, b) => a * b, 1), 7 + i));
  const grads = Array.from({ length: steps }, (_, t) => shapes.map((s, i) => rand(s.reduce((a, b) => a * b, 1), 100 * t + i)));
  const lrs = Array.from({ length: steps }, (_, t) => 3.5e-4 * (t < 3 ? (t + 1) / 3 : 0.1));

  async function run(name: 'adam' | 'sgd', wd: number, momentum = 0, resumeAt = -1, frozenSteps = 0) {
    const vars = shapes.map((s, i) => tf.variable(tf.tensor(params[i]!, s), true, `v${i}_${name}_${wd}_${resumeAt}`));
    let opt = new ModelOptimizer({ name, weightDecay: wd, momentum }, vars);
    for (let t = 0; t < steps; t++) {
      if (t === resumeAt) {
        // A resumed run: state saved, a fresh optimizer restored from it.
        const state = await opt.getState();
        opt.dispose();
        opt = new ModelOptimizer({ name, weightDecay: wd, momentum }, vars);
        opt.setState(state);
      }
      const g = Object.fromEntries(vars.flatMap((v, i) => (i === 0 && t < frozenSteps ? [] : [[v.name, tf.tensor(grads[t]![i]!, shapes[i])]])));
      opt.apply(g, lrs[t]!);
      Object.values(g).forEach((x) => x.dispose());
    }
    const out = await Promise.all(vars.map(async (v) => Array.from(await v.data())));
    vars.forEach((v) => v.dispose());
    opt.dispose();
    return out;
  }

  it.each([
    ['adam', 5e-4, 0],
    ['adam', 0, 0],
    ['sgd', 5e-4, 0.9],
    ['sgd', 0, 0],
  ] as const)('%s, weight decay %s, momentum %s', async (name, wd, momentum) => {
    const ref = runPython<number[][]>('../training/engine/optim_ref.py', { name, wd, momentum, lr: lrs, params, grads });
    for (const resumeAt of [-1, 3]) {
      const mine = await run(name, wd, momentum, resumeAt);
      mine.flat().forEach((x, i) => expect(Math.abs(x - ref.flat()[i]!)).toBeLessThan(2e-7));
      // The update moved the parameters: the check would fail for a no-op optimizer.
      expect(Math.abs(mine[0]![0]! - params[0]![0]!)).toBeGreaterThan(1e-6);
    }
  });

  it('a parameter without gradients for its first steps (fast-reid FREEZE_ITERS) starts its own Adam step count', async () => {
    const ref = runPython<number[][]>('../training/engine/optim_ref.py', { name: 'adam', wd: 5e-4, momentum: 0, lr: lrs, params, grads, frozen_steps: 4 });
    for (const resumeAt of [-1, 2, 5]) {
      const mine = await run('adam', 5e-4, 0, resumeAt, 4);
      mine.flat().forEach((x, i) => expect(Math.abs(x - ref.flat()[i]!), `resume ${resumeAt}, entry ${i}`).toBeLessThan(2e-7));
    }
  });
});
