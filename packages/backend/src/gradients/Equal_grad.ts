import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `Equal` (`tf.equal`): a comparison is piecewise constant. The stock kernel has
 * no gradient in tfjs 4.22, so any tape through `tf.equal` (e.g. the stock `Max`/`Min` gradient,
 * differentiated again) fails with "gradient function not found for Equal".
 */
export const equalGradConfig: tf.GradConfig = zeroGradConfig(tf.Equal);
