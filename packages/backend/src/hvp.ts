import * as tf from '@tensorflow/tfjs-core';
import { registerGradientFixes } from './gradients/register.js';

/**
 * Gradients of `f()` w.r.t. `xs`, with zeros (not an error) for inputs `f` does not depend on.
 * Like `tf.grads`, but built on `engine().gradients(…, allowNoGradients = true)`.
 */
function gradientsOrZeros(f: () => tf.Scalar, xs: tf.Tensor[]): tf.Tensor[] {
  const { grads } = tf.engine().gradients(f, xs, undefined, true);
  return xs.map((x, i) => grads[i] ?? tf.zeros(x.shape, 'float32'));
}

/**
 * Hessian-vector product: `d/dθ [ <∇f(θ), v> ]` with `v` held constant, for a list of parameter
 * tensors θ = `params` (plain tensors or Variables) and a matching list of directions `v`.
 * This is double backward (Pearlmutter's trick, as in PyTorch's `autograd.grad` of `g · v`), so
 * it needs the gradients on the path to be differentiable: it calls {@link registerGradientFixes}
 * (a cheap no-op when already done) before recording f. Parameters f does not depend on get zeros.
 *
 * For GraSP's Hessian-gradient product pass v = stop-gradient(∇f) (the gradient computed
 * beforehand, as plain tensors).
 *
 * @returns one tensor per parameter, shaped like it; the caller owns (and disposes) them.
 */
export function hessianVectorProduct(
  f: (params: tf.Tensor[]) => tf.Scalar,
  params: tf.Tensor[],
  v: tf.Tensor[],
): tf.Tensor[] {
  if (params.length !== v.length) {
    throw new Error(`hessianVectorProduct: ${params.length} params but ${v.length} vectors`);
  }
  params.forEach((p, i) => {
    const vi = v[i];
    if (vi === undefined || !tf.util.arraysEqual(p.shape, vi.shape)) {
      throw new Error(
        `hessianVectorProduct: v[${i}] has shape [${vi?.shape.join(', ')}], param has [${p.shape.join(', ')}]`,
      );
    }
  });
  if (params.length === 0) return [];
  // Gradients are bound when ops are recorded, and f is recorded below: make sure ours are in place.
  registerGradientFixes();
  return tf.tidy(() =>
    gradientsOrZeros(() => {
      const g = gradientsOrZeros(() => f(params), params);
      return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, v[i] as tf.Tensor)))) as tf.Scalar;
    }, params),
  );
}
