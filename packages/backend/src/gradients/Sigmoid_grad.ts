import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient of `Sigmoid` as a function of its input: dx = dy ⊙ s ⊙ (1 − s), s = sigmoid(x).
 *
 * The stock gradient uses the saved output, which loses the second-order term (see `Exp_grad.ts`).
 */
export const sigmoidGradConfig: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return {
      x: () => {
        const s = tf.sigmoid(tf.cast(x, 'float32'));
        return tf.mul(dy as tf.Tensor, tf.mul(s, tf.sub(tf.scalar(1), s)));
      },
    };
  },
};
