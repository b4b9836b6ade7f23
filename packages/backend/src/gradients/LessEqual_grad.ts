import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `LessEqual` (`tf.lessEqual`): a comparison is piecewise constant. The stock
 * kernel has no gradient in tfjs 4.22 (used by the stock `Minimum` gradient).
 */
export const lessEqualGradConfig: tf.GradConfig = zeroGradConfig(tf.LessEqual);
