import * as tf from '@tensorflow/tfjs-core';

/** Swaps the last two axes (a matrix transpose, batched over any leading axes). */
function transposeLastTwo(x: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.transpose(x);
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** Plain (untransposed) product: the fast path on WASM. */
function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(a, b, false, false);
}

/**
 * Sums a gradient over the batch axes along which the input was broadcast, then reshapes it to
 * the input's shape (a 2-D operand multiplied with a 3-D one, or a batch of 1 against a batch of B).
 */
function reduceToShape(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(grad.shape, shape)) return grad;
  const axes = tf.broadcast_util.getReductionAxes(shape, grad.shape);
  const summed = axes.length > 0 ? tf.sum(grad, axes) : grad;
  return tf.reshape(summed, shape);
}

/** The stock formulation (transpose flags on the products), for backends where flags are fast. */
function flaggedGradient(
  g: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): Record<string, () => tf.Tensor> {
  if (!transposeA && !transposeB) {
    return {
      a: () => reduceToShape(tf.matMul(g, b, false, true), a.shape),
      b: () => reduceToShape(tf.matMul(a, g, true, false), b.shape),
    };
  }
  if (!transposeA && transposeB) {
    return {
      a: () => reduceToShape(tf.matMul(g, b, false, false), a.shape),
      b: () => reduceToShape(tf.matMul(g, a, true, false), b.shape),
    };
  }
  if (transposeA && !transposeB) {
    return {
      a: () => reduceToShape(tf.matMul(b, g, false, true), a.shape),
      b: () => reduceToShape(tf.matMul(a, g, false, false), b.shape),
    };
  }
  return {
    a: () => reduceToShape(tf.matMul(b, g, true, true), a.shape),
    b: () => reduceToShape(tf.matMul(g, a, true, true), b.shape),
  };
}

/**
 * Gradient of `BatchMatMul` (`tf.matMul`) that never asks the kernel to transpose.
 *
 * The stock gradient calls `matMul(x, y, transposeA, transposeB)` with the flags set; on the WASM
 * backend that path is about 10x slower than a plain product. Here each operand that needs it is
 * transposed explicitly (`Transpose` kernel) and then multiplied plainly. For C = op(A) op(B):
 *
 * | forward      | dA              | dB              |
 * |--------------|-----------------|-----------------|
 * | A B          | G Bᵀ            | Aᵀ G            |
 * | A Bᵀ         | G B             | Gᵀ A            |
 * | Aᵀ B         | B Gᵀ            | A G             |
 * | Aᵀ Bᵀ        | (G B)ᵀ          | (A G)ᵀ          |
 *
 * Batched (rank ≥ 3) inputs transpose their last two axes; operands broadcast over batch axes have
 * their gradient summed back to their own shape (the stock gradient fails with a shape error there).
 * It is written in terms of the saved inputs only, so it is itself differentiable (second order).
 */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    // Only WASM pays ~10x for the transpose flags; native TensorFlow and the cpu backend handle
    // them at full speed (measured: explicit transposes were slower on cpu), so keep flags there.
    if (tf.getBackend() !== 'wasm') return flaggedGradient(g, a, b, transposeA, transposeB);
    if (!transposeA && !transposeB) {
      return {
        a: () => reduceToShape(mm(g, transposeLastTwo(b)), a.shape),
        b: () => reduceToShape(mm(transposeLastTwo(a), g), b.shape),
      };
    }
    if (!transposeA && transposeB) {
      return {
        a: () => reduceToShape(mm(g, b), a.shape),
        b: () => reduceToShape(mm(transposeLastTwo(g), a), b.shape),
      };
    }
    if (transposeA && !transposeB) {
      return {
        a: () => reduceToShape(mm(b, transposeLastTwo(g)), a.shape),
        b: () => reduceToShape(mm(a, g), b.shape),
      };
    }
    return {
      a: () => reduceToShape(transposeLastTwo(mm(g, b)), a.shape),
      b: () => reduceToShape(transposeLastTwo(mm(a, g)), b.shape),
    };
  },
};
