/**
 * The training rules, one operator per entry (one small unit per family in ops/, as tfjs-core's
 * `gradients/*_grad.ts`). An operator missing here has no training form: `inferShapes` throws a
 * CompileError naming it, and the caller trains the graph on another engine and says why.
 */
import type { OpRule } from './emitter.js';
import { AveragePool } from './ops/avgpool.js';
import { Conv } from './ops/conv-grouped.js';
import { Add, compare, Div, Max, Mul, Pow, Sub, Where } from './ops/elementwise.js';
import { Gemm, MatMul } from './ops/linear.js';
import { MaxPool } from './ops/maxpool.js';
import { BatchNormalization, BatchNormalizationTrain, BN_TRAIN, InstanceNormalization } from './ops/norm.js';
import { ArgMax, ReduceMax, ReduceMean, ReduceMin, ReduceSum } from './ops/reduce.js';
import { Softmax } from './ops/softmax.js';
import { Concat, Flatten, GlobalAveragePool, Reshape, Split, Transpose } from './ops/shape.js';
import { Abs, Acos, Cast, Cos, Exp, Identity, Log, Neg, Reciprocal, Relu, Sigmoid, Softplus, Sqrt } from './ops/unary.js';

export const OP_RULES: Record<string, OpRule> = {
  Conv,
  BatchNormalization,
  [BN_TRAIN]: BatchNormalizationTrain,
  InstanceNormalization,
  MaxPool,
  AveragePool,
  Softmax,
  Relu,
  Sigmoid,
  Reciprocal,
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Softplus,
  Acos,
  Cos,
  Identity,
  Cast,
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Pow,
  Where,
  Equal: compare,
  Greater: compare,
  GreaterOrEqual: compare,
  Less: compare,
  Gemm,
  MatMul,
  Flatten,
  Reshape,
  Transpose,
  Split,
  Concat,
  GlobalAveragePool,
  ReduceSum,
  ReduceMean,
  ReduceMax,
  ReduceMin,
  ArgMax,
};

export { BN_TRAIN, bnMean, bnRstd, expandBatchNormTrain, normAxes } from './ops/norm.js';
export { Emitter, size, type OpRule, type Shapes } from './emitter.js';
