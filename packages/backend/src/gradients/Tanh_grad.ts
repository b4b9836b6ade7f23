import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient of `Tanh` as a function of its input: dx = dy ⊙ (1 − tanh(x)²).
 *
 * The stock gradient uses the saved output, which loses the second-order term (see `Exp_grad.ts`).
 */
export const tanhGradConfig: tf.GradConfig = {
  kernelName: tf.Tanh,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return {
      x: () => {
        const t = tf.tanh(tf.cast(x, 'float32'));
        return tf.mul(dy as tf.Tensor, tf.sub(tf.scalar(1), tf.square(t)));
      },
    };
  },
};
