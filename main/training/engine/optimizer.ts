/**
 * The model optimizer, written out in tfjs ops so its whole state (moments, step count) can be saved in a
 * checkpoint and restored exactly — tfjs has no optimizer-state API (tfjs #5138), and a true resume needs
 * one. Semantics follow torch.optim:
 *  - Adam: coupled L2 — wd·θ is added to the gradient before the moment updates (not AdamW);
 *    θ ← θ − lr · m̂ / (sqrt(v̂) + ε) with bias-corrected m̂, v̂; ε = 1e-8 (tfjs's default would be 1e-7).
 *  - SGD: d = g + wd·θ; buf ← μ·buf + d (buf = d on the first step); θ ← θ − lr·buf.
 * Parameters listed in `noDecay` get no weight decay (none in RSB, whose ymls decay every parameter).
 * Like torch (`state['step']` per parameter), Adam counts steps per parameter: one that got no gradient (fast-reid's
 * backbone during FREEZE_ITERS, whose p.grad is None) starts its bias correction at 1 when it first trains.
 */
import * as tf from '@tensorflow/tfjs';

export interface OptimizerConfig {
  name: 'adam' | 'sgd';
  weightDecay: number;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface OptimizerState {
  name: 'adam' | 'sgd';
  step: number;
  /** Per variable key: the updates it received (Adam bias correction); absent in older checkpoints = `step` for all. */
  steps?: Record<string, number>;
  /** Per variable name: first/second moment (Adam) or momentum buffer (SGD), flattened. */
  slots: Record<string, Float32Array[]>;
}

export class ModelOptimizer {
  step = 0;
  /** Slots by stable key: tfjs variable names get uniquifying suffixes that differ between processes. */
  private slots = new Map<string, tf.Variable[]>();
  private steps = new Map<string, number>();
  private keys: Map<tf.Variable, string>;

  /** `keys`: a stable name per variable (e.g. the weight's layer/slot), used in saved state; defaults to tfjs names. */
  constructor(
    readonly config: OptimizerConfig,
    readonly variables: tf.Variable[],
    keys?: string[],
  ) {
    this.keys = new Map(variables.map((v, i) => [v, keys?.[i] ?? v.name]));
    const names = new Set<string>();
    for (const k of this.keys.values()) {
      if (names.has(k)) throw new Error(`optimizer: two variables named ${k}`);
      names.add(k);
    }
  }

  private slotsFor(v: tf.Variable): tf.Variable[] {
    const key = this.keys.get(v)!;
    let s = this.slots.get(key);
    if (!s) {
      const n = this.config.name === 'adam' ? 2 : 1;
      s = Array.from({ length: n }, () => tf.variable(tf.zerosLike(v), false));
      this.slots.set(key, s);
    }
    return s;
  }

  /** One update with learning rate `lr`; `grads` maps variable name → gradient (missing = no update). */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const c = this.config;
    for (const v of this.variables) {
      const g = grads[v.name];
      if (!g) continue;
      const key = this.keys.get(v)!;
      const t = (this.steps.get(key) ?? 0) + 1;
      this.steps.set(key, t);
      const slots = this.slotsFor(v);
      tf.tidy(() => {
        const d = c.weightDecay ? g.add(v.mul(c.weightDecay)) : g;
        if (c.name === 'adam') {
          const b1 = c.beta1 ?? 0.9;
          const b2 = c.beta2 ?? 0.999;
          const eps = c.eps ?? 1e-8;
          const [m, s] = slots as [tf.Variable, tf.Variable];
          m.assign(m.mul(b1).add(d.mul(1 - b1)));
          s.assign(s.mul(b2).add(d.square().mul(1 - b2)));
          const mHat = m.div(1 - b1 ** t);
          const vHat = s.div(1 - b2 ** t);
          v.assign(v.sub(mHat.div(vHat.sqrt().add(eps)).mul(lr)));
        } else {
          const [buf] = slots as [tf.Variable];
          const mu = c.momentum ?? 0;
          buf.assign(t === 1 || mu === 0 ? d : buf.mul(mu).add(d));
          v.assign(v.sub(buf.mul(lr)));
        }
      });
    }
  }

  async getState(): Promise<OptimizerState> {
    const slots: Record<string, Float32Array[]> = {};
    for (const [name, s] of this.slots) slots[name] = await Promise.all(s.map(async (x) => (await x.data()) as Float32Array));
    return { name: this.config.name, step: this.step, steps: Object.fromEntries(this.steps), slots };
  }

  setState(state: OptimizerState): void {
    if (state.name !== this.config.name) throw new Error(`checkpoint optimizer is ${state.name}, the run uses ${this.config.name}`);
    this.step = state.step;
    this.steps.clear();
    for (const v of this.variables) {
      const key = this.keys.get(v)!;
      const saved = state.slots[key];
      if (!saved) continue;
      this.steps.set(key, state.steps?.[key] ?? state.step);
      const s = this.slotsFor(v);
      saved.forEach((data, i) => {
        if (data.length !== v.size) throw new Error(`optimizer state for ${v.name} has ${data.length} values, the variable ${v.size}`);
        s[i]!.assign(tf.tensor(data, v.shape));
      });
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) for (const x of s) x.dispose();
    this.slots.clear();
  }
}
