/**
 * @grokking-tickets/backend — TensorFlow.js backend selection (tfjs-node, WASM, cpu), corrected
 * second-order-safe gradients, a careful float32 cross-entropy, and fused WASM kernels (sparse
 * lookups, AdamW) for the hot spots of a training step.
 *
 * Every package of the project imports `tf` from here so that all of them share one engine and one
 * gradient registry.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The tfjs namespace used by this package (so all packages share one engine). */
export { tf };

export { BackendError, TFJS_NODE_HINT, initBackend } from './backend.js';
export type { BackendChoice, BackendName } from './backend.js';
export { gradientFixes, registerGradientFixes } from './gradients/register.js';
export {
  crossEntropy,
  crossEntropyFirstOrder,
  crossEntropyFirstOrderStacked,
  crossEntropyStacked,
  logSumExp,
  meanSquaredError,
  meanSquaredErrorStacked,
} from './losses.js';
export { hessianVectorProduct } from './hvp.js';
export {
  adamwUpdate,
  adamwUpdateStacked,
  batchedMatMul,
  matMul2d,
  fastKernelsActive,
  registerFastKernels,
  sparseLookup,
  transposeInner,
} from './kernels/fastKernels.js';
export type { AdamWConstants } from './kernels/fastKernels.js';
