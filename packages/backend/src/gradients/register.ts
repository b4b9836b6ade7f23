import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulGradConfig } from './BatchMatMul_grad.js';
import { equalGradConfig } from './Equal_grad.js';
import { expGradConfig } from './Exp_grad.js';
import { greaterGradConfig } from './Greater_grad.js';
import { greaterEqualGradConfig } from './GreaterEqual_grad.js';
import { lessGradConfig } from './Less_grad.js';
import { lessEqualGradConfig } from './LessEqual_grad.js';
import { notEqualGradConfig } from './NotEqual_grad.js';
import { sigmoidGradConfig } from './Sigmoid_grad.js';
import { softmaxGradConfig } from './Softmax_grad.js';
import { tanhGradConfig } from './Tanh_grad.js';

/**
 * The corrected gradient configs, one per file in this folder, registered together by
 * {@link registerGradientFixes}.
 */
export const gradientFixes: readonly tf.GradConfig[] = Object.freeze([
  batchMatMulGradConfig,
  expGradConfig,
  softmaxGradConfig,
  sigmoidGradConfig,
  tanhGradConfig,
  equalGradConfig,
  notEqualGradConfig,
  greaterGradConfig,
  greaterEqualGradConfig,
  lessGradConfig,
  lessEqualGradConfig,
]);

/**
 * tfjs-core's own gradient configs (101 in 4.22), bundled at build time into
 * `vendor/tfjs-core-gradients.cjs` by `scripts/bundle-tfjs-gradients.mjs`: tfjs-core registers none
 * in Node, and the `@tensorflow/tfjs` union that would is ~300 MB. The path is the same from `src/`
 * (tests) and `dist/` (the published build).
 */
const tfjsCoreGradients: readonly tf.GradConfig[] = (
  createRequire(import.meta.url)('../../vendor/tfjs-core-gradients.cjs') as { gradConfigs: tf.GradConfig[] }
).gradConfigs;

/**
 * Registers tfjs-core's stock gradients for every kernel that has none yet (so a user's own
 * registrations, or those of the tfjs union if it is loaded too, are left alone). Idempotent.
 */
export function registerCoreGradients(): void {
  for (const config of tfjsCoreGradients) if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
}

/** The configs that were registered before ours replaced them (`undefined`: there was none). */
const replaced = new Map<string, tf.GradConfig | undefined>();

/**
 * Registers tfjs-core's stock gradients (registerCoreGradients), then all corrected
 * gradients on top, in tfjs's global gradient registry (shared by every copy of tfjs-core in the
 * process). Idempotent: a config already in place is left alone, so calling this
 * again is a cheap identity check per kernel, and it re-installs a fix that something else (say,
 * a second load of the tfjs union bundle) has overwritten. An existing gradient is unregistered
 * first, so tfjs never logs "Overriding the gradient for ..." in debug mode.
 *
 * Gradients are looked up when an op is *recorded* on the tape, so register before running the
 * forward pass whose gradient you want.
 */
export function registerGradientFixes(): void {
  registerCoreGradients();
  for (const config of gradientFixes) {
    const current = tf.getGradient(config.kernelName);
    if (current === config) continue;
    if (!replaced.has(config.kernelName)) replaced.set(config.kernelName, current ?? undefined);
    if (current != null) tf.unregisterGradient(config.kernelName);
    tf.registerGradient(config);
  }
}

/**
 * The gradient config that tfjs itself had registered for `kernelName` before the fixes replaced
 * it, or `undefined`. For tests and benchmarks (comparison with stock); not part of the public API.
 */
export function stockGradient(kernelName: string): tf.GradConfig | undefined {
  if (replaced.has(kernelName)) return replaced.get(kernelName);
  const current = tf.getGradient(kernelName);
  return gradientFixes.includes(current) ? undefined : (current ?? undefined);
}

/**
 * Puts tfjs's own gradients back (removing ours). For tests and benchmarks that measure the stock
 * behaviour; call {@link registerGradientFixes} afterwards. Not part of the public API.
 */
export function restoreStockGradients(): void {
  for (const config of gradientFixes) {
    if (tf.getGradient(config.kernelName) !== config) continue;
    tf.unregisterGradient(config.kernelName);
    const stock = replaced.get(config.kernelName);
    if (stock != null) tf.registerGradient(stock);
  }
}
