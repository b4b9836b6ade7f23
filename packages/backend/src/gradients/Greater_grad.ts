import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `Greater` (`tf.greater`): a comparison is piecewise constant. The stock kernel
 * has no gradient in tfjs 4.22 (used by the stock `Pow` gradient and by hand-written masks).
 */
export const greaterGradConfig: tf.GradConfig = zeroGradConfig(tf.Greater);
