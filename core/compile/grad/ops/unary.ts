/**
 * Unary elementwise operators (y = f(x), dx = dy·f'(x), written with y where that is cheaper):
 *   Relu        dy where y > 0 (PyTorch's threshold_backward), written dy·ceil(min(y, 1)): y ≥ 0, so that is
 *               the 0/1 mask in float32 (a boolean mask — Greater → Where — is moved by onnxruntime's
 *               transpose optimizer into a boolean Transpose, and Sign has no kernel: CPU fallbacks on the
 *               WebGPU EP);
 *   Sigmoid     dy·y·(1 − y)  (SE blocks' gate, fast-reid's SELayer);
 *   Reciprocal  −dy·y²;   Neg −dy;   Exp dy·y;   Log dy / x;   Sqrt dy / (2y);
 *   Abs         dy·sign(x), sign = [x > 0] − [x < 0] (the WebGPU EP has no Sign kernel);
 *   Softplus    dy·sigmoid(x) (SoftMarginLoss of the soft-margin triplet);
 *   Acos        −dy / sqrt(1 − x²);   Cos −dy·sin(x)  (fast-reid ArcSoftmax);
 *   Identity / Cast(float) dy.
 */
import { int, type OpRule } from '../emitter.js';

const same: OpRule['shape'] = (n, get) => [get(n.inputs[0]!)];
const unary = (grad: NonNullable<OpRule['grad']>): OpRule => ({ shape: same, grad });

export const Relu = unary((n, dy, _need, e) => [e.one('Mul', [dy(0)!, e.one('Ceil', [e.one('Min', [n.outputs[0]!, e.f32(1)])])], [], `${n.name}.dX`)]);
export const Sigmoid = unary((n, dy, _need, e) => {
  const y = n.outputs[0]!;
  return [e.one('Mul', [dy(0)!, e.one('Mul', [y, e.one('Sub', [e.f32(1), y])])])];
});
export const Reciprocal = unary((n, dy, _need, e) => {
  const y = n.outputs[0]!;
  return [e.one('Neg', [e.one('Mul', [dy(0)!, e.one('Mul', [y, y])])])];
});
export const Neg = unary((_n, dy, _need, e) => [e.one('Neg', [dy(0)!])]);
export const Exp = unary((n, dy, _need, e) => [e.one('Mul', [dy(0)!, n.outputs[0]!])]);
export const Log = unary((n, dy, _need, e) => [e.one('Div', [dy(0)!, n.inputs[0]!])]);
export const Sqrt = unary((n, dy, _need, e) => [e.one('Div', [dy(0)!, e.one('Mul', [n.outputs[0]!, e.f32(2)])])]);
export const Abs = unary((n, dy, _need, e) => {
  const x = n.inputs[0]!;
  const mask = (op: string) => e.one('Cast', [e.one(op, [x, e.f32(0)])], [int('to', 1)]);
  return [e.one('Mul', [dy(0)!, e.one('Sub', [mask('Greater'), mask('Less')])])];
});
export const Softplus = unary((n, dy, _need, e) => [e.one('Mul', [dy(0)!, e.one('Sigmoid', [n.inputs[0]!])])]);
export const Acos = unary((n, dy, _need, e) => {
  const x = n.inputs[0]!;
  return [e.one('Neg', [e.one('Div', [dy(0)!, e.one('Sqrt', [e.one('Sub', [e.f32(1), e.one('Mul', [x, x])])])])])];
});
export const Cos = unary((n, dy, _need, e) => [e.one('Neg', [e.one('Mul', [dy(0)!, e.one('Sin', [n.inputs[0]!])])])]);
export const Identity = unary((_n, dy) => [dy(0)]);
/** Cast: only float → float passes a gradient (a cast to bool / int is a comparison's mask). */
export const Cast: OpRule = { shape: same, nonDifferentiable: () => true };
