import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient of `Softmax` as a function of its input logits:
 * dx = y ⊙ dy − y ⊙ Σ_dim(y ⊙ dy), with y = softmax(logits) recomputed from the saved input.
 *
 * The stock gradient uses the saved output y, which is disconnected from the logits when the
 * gradient is differentiated again (see `Exp_grad.ts`), so second derivatives through attention
 * or any softmax were wrong or raised an error. Recomputing y costs one `Softmax` per backward pass.
 */
export const softmaxGradConfig: tf.GradConfig = {
  kernelName: tf.Softmax,
  inputsToSave: ['logits'],
  gradFunc: (dy, saved, attrs) => {
    const [logits] = saved as [tf.Tensor];
    const { dim } = attrs as unknown as tf.SoftmaxAttrs;
    return {
      logits: () => {
        const y = tf.softmax(logits, dim);
        const dyTimesY = tf.mul(dy as tf.Tensor, y);
        return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y));
      },
    };
  },
};
