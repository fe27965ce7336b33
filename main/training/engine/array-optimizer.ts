/**
 * The model optimizer of the onnxruntime engine: ModelOptimizer's update rules (torch.optim semantics,
 * see optimizer.ts) on plain Float32Arrays updated in place — the weights the training graph reads. State
 * (step count, per-weight moments) saves and restores in the engines' format (OptimizerState: moments in
 * PyTorch layout by state_dict key), so a checkpoint written by any engine resumes on the others; `layout`
 * converts a moment between the graph's weight layout and PyTorch's (a copy: the moments update in place).
 */
import type { OptimizerConfig, OptimizerState } from './optimizer.js';

export interface ArrayParam {
  /** Stable key: the weight's state_dict key. */
  key: string;
  data: Float32Array;
}

export interface SlotLayout {
  /** Graph layout → PyTorch layout (a new array), and back. */
  toSaved(key: string, data: Float32Array): Float32Array;
  fromSaved(key: string, data: Float32Array): Float32Array;
}

export class ArrayOptimizer {
  step = 0;
  private slots = new Map<string, Float32Array[]>();

  constructor(
    readonly config: OptimizerConfig,
    readonly params: ArrayParam[],
    private layout: SlotLayout,
  ) {}

  private slotsFor(p: ArrayParam): Float32Array[] {
    let s = this.slots.get(p.key);
    if (!s) {
      s = Array.from({ length: this.config.name === 'adam' ? 2 : 1 }, () => new Float32Array(p.data.length));
      this.slots.set(p.key, s);
    }
    return s;
  }

  /** One update with learning rate `lr`; `grads` maps key → gradient in the weight's layout (missing = no update). */
  apply(grads: Map<string, Float32Array>, lr: number): void {
    this.step += 1;
    const c = this.config;
    const t = this.step;
    const wd = c.weightDecay;
    const f = Math.fround;
    for (const p of this.params) {
      const g = grads.get(p.key);
      if (!g) continue;
      const v = p.data;
      const slots = this.slotsFor(p);
      if (c.name === 'adam') {
        const b1 = c.beta1 ?? 0.9;
        const b2 = c.beta2 ?? 0.999;
        const eps = c.eps ?? 1e-8;
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        const [m, s] = slots as [Float32Array, Float32Array];
        for (let i = 0; i < v.length; i++) {
          const d = wd ? f(g[i]! + f(v[i]! * wd)) : g[i]!;
          const mi = (m[i] = f(m[i]! * b1 + d * (1 - b1)));
          const si = (s[i] = f(s[i]! * b2 + d * d * (1 - b2)));
          v[i] = f(v[i]! - (f(mi / c1) / (Math.sqrt(f(si / c2)) + eps)) * lr);
        }
      } else {
        const [buf] = slots as [Float32Array];
        const mu = c.momentum ?? 0;
        const first = t === 1 || mu === 0;
        for (let i = 0; i < v.length; i++) {
          const d = wd ? f(g[i]! + f(v[i]! * wd)) : g[i]!;
          const b = (buf[i] = first ? d : f(buf[i]! * mu + d));
          v[i] = f(v[i]! - b * lr);
        }
      }
    }
  }

  getState(): OptimizerState {
    const slots: Record<string, Float32Array[]> = {};
    for (const [key, s] of this.slots) slots[key] = s.map((x) => this.layout.toSaved(key, x));
    return { name: this.config.name, step: this.step, slots };
  }

  setState(state: OptimizerState): void {
    if (state.name !== this.config.name) throw new Error(`checkpoint optimizer is ${state.name}, the run uses ${this.config.name}`);
    this.step = state.step;
    for (const p of this.params) {
      const saved = state.slots[p.key];
      if (!saved) continue;
      const s = this.slotsFor(p);
      saved.forEach((data, i) => {
        if (data.length !== p.data.length) throw new Error(`optimizer state for ${p.key} has ${data.length} values, the variable ${p.data.length}`);
        s[i]!.set(this.layout.fromSaved(p.key, data));
      });
    }
  }
}
