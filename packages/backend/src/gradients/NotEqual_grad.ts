import * as tf from '@tensorflow/tfjs-core';
import { zeroGradConfig } from './zero_grad.js';

/**
 * Zero gradient for `NotEqual` (`tf.notEqual`): a comparison is piecewise constant. The stock
 * kernel has no gradient in tfjs 4.22.
 */
export const notEqualGradConfig: tf.GradConfig = zeroGradConfig(tf.NotEqual);
