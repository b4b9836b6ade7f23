import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, crossEntropyFirstOrder, meanSquaredError } from '@grokking-tickets/backend';
import { gaussianArray } from './random.js';
import { ModelError, getModelDefinition } from './registry.js';
import type { GrokModel, NamedArrays, NamedTensors, PreparedBatch } from './types.js';

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total number of weights of a model (115 000 for the reference MLP). */
export function countParameters(model: GrokModel): number {
  return model.params.reduce((n, p) => n + sizeOf(p.shape), 0);
}

/**
 * θ0: i.i.d. normal weights with each parameter's init std, deterministic for `seed` and independent
 * of the backend (drawn in JavaScript from the stream `init/<name>`).
 * @example
 * const theta0 = initialWeights(createModel('mlp'), 0); // the same arrays on every backend
 * theta0.W_E.length;                                    // 33500
 */
export function initialWeights(model: GrokModel, seed: number): NamedArrays {
  if (!Number.isInteger(seed) || seed < 0) throw new ModelError(`seed must be a non-negative integer, got ${seed}`);
  const out: NamedArrays = {};
  for (const p of model.params) out[p.name] = gaussianArray(sizeOf(p.shape), p.initStd, seed, p.name);
  return out;
}

/** All-ones masks (a dense network) for every prunable parameter. */
export function denseMasks(model: GrokModel): NamedArrays {
  const out: NamedArrays = {};
  for (const p of model.params) if (p.prunable) out[p.name] = new Float32Array(sizeOf(p.shape)).fill(1);
  return out;
}

/**
 * Checks that arrays match the model's parameters by name and size (weights: every parameter;
 * masks: any subset of the prunable ones, entries 0 or 1). Throws a one-line ModelError otherwise.
 */
export function validateArrays(model: GrokModel, arrays: NamedArrays, what: 'weights' | 'masks'): void {
  const specs = new Map(model.params.map((p) => [p.name, p]));
  for (const [name, data] of Object.entries(arrays)) {
    const spec = specs.get(name);
    if (!spec) throw new ModelError(`${what}: "${name}" is not a parameter of model "${model.kind}"`);
    if (what === 'masks' && !spec.prunable) throw new ModelError(`masks: "${name}" is not prunable`);
    if (data.length !== sizeOf(spec.shape)) {
      throw new ModelError(
        `${what}: "${name}" has ${data.length} values, expected ${sizeOf(spec.shape)} (shape ${spec.shape.join('×')})`,
      );
    }
    if (what === 'masks') {
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== 0 && data[i] !== 1)
          throw new ModelError(`masks: "${name}" has value ${data[i]} at ${i}; masks hold 0 or 1`);
      }
    }
  }
  if (what === 'weights') {
    for (const p of model.params)
      if (!(p.name in arrays)) throw new ModelError(`weights: missing parameter "${p.name}"`);
  }
}

/** Uploads named arrays as tensors with the model's shapes. */
export function toTensors(model: GrokModel, arrays: NamedArrays): NamedTensors {
  const out: NamedTensors = {};
  for (const p of model.params) {
    const data = arrays[p.name];
    if (data) out[p.name] = tf.tensor(data, p.shape, 'float32');
  }
  return out;
}

/** Effective weights W ⊙ M (parameters without a mask pass through). Differentiable in W. */
export function applyMasks(weights: NamedTensors, masks: NamedTensors): NamedTensors {
  const out: NamedTensors = {};
  for (const [name, w] of Object.entries(weights)) out[name] = masks[name] ? tf.mul(w, masks[name]) : w;
  return out;
}

/**
 * The model's training loss on a prepared batch: mean cross-entropy, or MSE against one-hot targets.
 * `firstOrder: true` uses a cheaper cross-entropy whose gradient is not differentiable again (the
 * training step); the default is safe for second-order use (GraSP's Hessian-gradient product).
 */
export function modelLoss(
  model: GrokModel,
  weights: NamedTensors,
  batch: PreparedBatch,
  options: { firstOrder?: boolean } = {},
): tf.Scalar {
  const logits = model.forward(weights, batch);
  if (model.loss === 'mse') return meanSquaredError(logits, batch.targets);
  return options.firstOrder ? crossEntropyFirstOrder(logits, batch.targets) : crossEntropy(logits, batch.targets);
}

/**
 * A model's weights and masks under the reference implementation's `state_dict` names (see
 * {@link ReferenceLayout}): every parameter, its mask buffer (all ones where the run had no mask),
 * and the constant buffers, as float32 arrays with their shapes. Pruned weights are exact zeros
 * here (the reference keeps decaying its pruned raw values), so W ⊙ M is the same function.
 * Throws a ModelError for a model without a reference counterpart.
 * @example
 * const model = createModel('mlp');
 * const sd = toReferenceStateDict(model, initialWeights(model, 0));
 * Object.keys(sd); // ['embed.W_E', 'embed.weight_mask', 'inproj.W', ...]
 */
export function toReferenceStateDict(
  model: GrokModel,
  weights: NamedArrays,
  masks: NamedArrays = {},
): Record<string, { shape: number[]; data: Float32Array }> {
  const layout = getModelDefinition(model.kind).referenceLayout?.(model.config);
  if (!layout) throw new ModelError(`model "${model.kind}" has no counterpart in the reference implementation`);
  validateArrays(model, weights, 'weights');
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const p of model.params) {
    const names = layout.params[p.name];
    if (!names) throw new ModelError(`model "${model.kind}": no reference name for "${p.name}"`);
    out[names.key] = { shape: p.shape, data: Float32Array.from(weights[p.name]!) };
    out[names.mask] = {
      shape: p.shape,
      data: masks[p.name] ? Float32Array.from(masks[p.name]!) : new Float32Array(sizeOf(p.shape)).fill(1),
    };
  }
  for (const [k, b] of Object.entries(layout.buffers)) out[k] = { shape: b.shape, data: Float32Array.from(b.data) };
  return out;
}
