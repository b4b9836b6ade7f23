import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `GreaterEqual` (`tf.greaterEqual`): a comparison is piecewise constant. The
 * stock kernel has a zero gradient in tfjs 4.22, but as `zerosLike(a)`, which is not `float32` for
 * integer inputs and then rejected by the engine.
 */
export const greaterEqualGradConfig: tf.GradConfig = zeroGradConfig(tf.GreaterEqual);
