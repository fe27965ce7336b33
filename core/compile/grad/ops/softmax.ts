/**
 * Softmax over one axis (ONNX opset ≥ 13, torch.softmax(dim); ResNeSt's rSoftMax over the radix splits,
 * fast-reid fastreid/layers/splat.py): dx = y·(dy − Σ_axis dy·y) (tfjs-core gradients/Softmax_grad.ts).
 */
import { intAttr, type OpRule } from '../emitter.js';

export const Softmax: OpRule = {
  shape: (n, get) => [get(n.inputs[0]!)],
  grad(n, dy, _need, e, shapes) {
    const y = n.outputs[0]!;
    const rank = shapes.get(y)!.length;
    const a = intAttr(n, 'axis', -1);
    const dot = e.reduceSum(e.one('Mul', [dy(0)!, y]), [a < 0 ? a + rank : a], true);
    return [e.one('Mul', [y, e.one('Sub', [dy(0)!, dot])], [], `${n.name}.dX`)];
  },
};
