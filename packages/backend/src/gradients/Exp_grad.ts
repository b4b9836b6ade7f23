import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient of `Exp` as a function of its input: d exp(x) = dy ⊙ exp(x).
 *
 * The stock gradient multiplies by the saved *output*. A saved tensor is a clone made while the
 * kernel runs, and that clone is recorded on the tape before the kernel's own node, so when the
 * gradient is differentiated again the clone is not connected to `x` and the second-order term
 * is lost (tfjs 4.22 then either throws "Cannot compute gradient of y=f(x)" or returns a value
 * missing terms). Recomputing exp(x) from the saved input costs one extra `Exp` per backward pass.
 */
export const expGradConfig: tf.GradConfig = {
  kernelName: tf.Exp,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => tf.mul(dy as tf.Tensor, tf.exp(tf.cast(x, 'float32'))) };
  },
};
