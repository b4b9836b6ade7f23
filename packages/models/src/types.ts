import type * as tf from '@tensorflow/tfjs-core';

/** One named weight tensor of a model, in the reference's layout (rows × cols as in PyTorch). */
export interface ParamSpec {
  /** Name as in the reference (`W_E`, `W_in`, ...); checkpoints and masks are keyed by it. */
  name: string;
  shape: number[];
  /** Standard deviation of the i.i.d. normal initialisation (scale / √fan-in). */
  initStd: number;
  /** Whether pruners may mask it (every weight matrix is prunable in the reference). */
  prunable: boolean;
}

/** Weights (or masks) by parameter name. */
export type NamedTensors = Record<string, tf.Tensor>;

/** Weights as plain arrays, e.g. θ0 from a checkpoint or a fresh initialisation. */
export type NamedArrays = Record<string, Float32Array>;

/** A batch of modular-arithmetic examples: token pairs (a, b) and labels. */
export interface PairBatch {
  kind: 'pairs';
  a: Int32Array;
  b: Int32Array;
  labels: Int32Array;
}

/** A batch of flattened images with integer labels (MNIST). */
export interface ImageBatch {
  kind: 'images';
  /** size × dim values, row-major. */
  images: Float32Array;
  dim: number;
  labels: Int32Array;
}

/** Either kind of batch. */
export type Batch = PairBatch | ImageBatch;

/**
 * A batch turned into tensors once, so the training loop reuses them every step.
 * `inputs` is model-specific; `targets` is the one-hot label matrix (size × classes).
 */
export interface PreparedBatch {
  size: number;
  inputs: tf.Tensor[];
  targets: tf.Tensor2D;
  labels: Int32Array;
}

/**
 * K batches of equal size (one per run of a stack) turned into tensors for `forwardStacked`:
 * inputs are model-specific (the fast path's sparse rows, offset so that run r reads rows of its own
 * table), targets are K one-hot matrices, labels the K label arrays one after another.
 */
export interface StackedBatch {
  /** Number of runs K. */
  stack: number;
  /** Examples per run. */
  size: number;
  inputs: tf.Tensor[];
  /** [K, size, classes]. */
  targets: tf.Tensor3D;
  /** K·size labels, run by run. */
  labels: Int32Array;
}

/** How a model's outputs are scored. */
export type LossKind = 'cross-entropy' | 'mse';

/** A built model: its parameters and pure forward functions over given weights. */
export interface GrokModel {
  /** Registry name, e.g. `mlp`. */
  kind: string;
  /** The fully resolved configuration (defaults filled in). */
  config: Record<string, number | string | boolean>;
  params: ParamSpec[];
  numClasses: number;
  loss: LossKind;
  /** Which batch kind the model reads. */
  input: Batch['kind'];
  /** Turns a batch into tensors (the caller disposes them with `disposeBatch`). */
  prepare(batch: Batch): PreparedBatch;
  /**
   * Logits (size × classes) for effective weights (masks already applied). The fastest exact
   * formulation available; must match `forwardReference`.
   */
  forward(weights: NamedTensors, batch: PreparedBatch): tf.Tensor2D;
  /** The plain formulation mirroring the reference code step by step (tests and audits). */
  forwardReference(weights: NamedTensors, batch: PreparedBatch): tf.Tensor2D;
  /**
   * Stacked training (optional): K batches of equal size as one {@link StackedBatch} (the caller
   * frees it with `disposeStackedBatch`). Models without it are trained one run at a time.
   */
  prepareStacked?(batches: Batch[]): StackedBatch;
  /**
   * Logits [K, size, classes] of K runs at once, for weights with a leading run axis ([K, ...shape],
   * masks applied). Each run's logits, and their gradients, are bit-identical to `forward` of that
   * run alone on the same backend (the same float32 operations in the same order).
   */
  forwardStacked?(weights: NamedTensors, batch: StackedBatch): tf.Tensor3D;
}

/**
 * How a model's tensors are named in the reference implementation's PyTorch `state_dict`
 * (gouki510/Grokking-Tickets, `model.py`), so a checkpoint can be loaded there with
 * `model.load_state_dict(load_file(path))`.
 */
export interface ReferenceLayout {
  /** Our parameter name → the reference's parameter key and the key of its mask buffer. */
  params: Record<string, { key: string; mask: string }>;
  /** Constant buffers the reference's state_dict also holds (e.g. the causal mask). */
  buffers: Record<string, { shape: number[]; data: Float32Array }>;
  /** The Python expression that builds the matching reference model. */
  constructor: string;
}

/** A model family in the registry. */
export interface ModelDefinition {
  kind: string;
  description: string;
  input: Batch['kind'];
  /** Default configuration; every key may be overridden in `build`. */
  defaults: Record<string, number | string | boolean>;
  /** One line of help per option worth setting from the command line (those options become flags). */
  describeOptions?: Record<string, string>;
  build(config: Record<string, number | string | boolean>): GrokModel;
  /** The reference implementation's names for this model's tensors, when it has a counterpart there. */
  referenceLayout?(config: Record<string, number | string | boolean>): ReferenceLayout;
}
