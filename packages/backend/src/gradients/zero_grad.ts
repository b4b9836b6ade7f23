import * as tf from '@tensorflow/tfjs-core';

/**
 * A gradient config for a binary comparison kernel (inputs `a`, `b`, boolean output): the
 * output is piecewise constant in both inputs, so both gradients are zero.
 *
 * The zeros are `float32` whatever the inputs' dtype: the engine rejects any other gradient dtype,
 * which the stock `GreaterEqual` gradient (`zerosLike(a)`) gets wrong for integer inputs.
 */
export function zeroGradConfig(kernelName: string): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      return {
        a: () => tf.zeros(a.shape, 'float32'),
        b: () => tf.zeros(b.shape, 'float32'),
      };
    },
  };
}
