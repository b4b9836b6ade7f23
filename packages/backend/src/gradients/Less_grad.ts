import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `Less` (`tf.less`): a comparison is piecewise constant. The stock kernel has
 * no gradient in tfjs 4.22, so the stock `Maximum` gradient (`less(a, b)`) cannot be
 * differentiated again.
 */
export const lessGradConfig: tf.GradConfig = zeroGradConfig(tf.Less);
