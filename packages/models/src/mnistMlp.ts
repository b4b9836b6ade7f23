import * as tf from '@tensorflow/tfjs-core';
import { batchedMatMul, matMul2d, sparseLookup, transposeInner } from '@grokking-tickets/backend';
import { commonSize, concatInt32, oneHotMatrix, stackedOneHot } from './batch.js';
import { positiveInt, positiveNumber } from './registry.js';
import type {
  Batch,
  GrokModel,
  ImageBatch,
  ModelDefinition,
  NamedTensors,
  ParamSpec,
  PreparedBatch,
  StackedBatch,
} from './types.js';

/**
 * The reference's MNIST MLP (protocol §3.3): 784 → ReLU 200 → ReLU 200 → 10, bias-free, init std
 * weightScale/√fan-in with weightScale 8 (the Omnigrok large-init setting), scored with MSE.
 */
export const mnistMlpDefinition: ModelDefinition = {
  kind: 'mnist-mlp',
  description: 'MNIST MLP 784-200-200-10, bias-free, init scale 8, MSE loss',
  input: 'images',
  defaults: { inputDim: 784, width: 200, classes: 10, weightScale: 8 },
  describeOptions: { weightScale: 'init scale s, std = s/√fan-in' },
  // MnistMLP with one hidden layer: inproj.W, mlps.0.W, outproj.W, each with its weight_mask.
  referenceLayout: (c) => ({
    params: {
      W1: { key: 'inproj.W', mask: 'inproj.weight_mask' },
      W2: { key: 'mlps.0.W', mask: 'mlps.0.weight_mask' },
      W3: { key: 'outproj.W', mask: 'outproj.weight_mask' },
    },
    buffers: {},
    constructor: `MnistMLP(num_layers=1, d_input=${c.inputDim}, d_model=${c.width}, d_class=${c.classes}, act_type="ReLU", weight_scale=${c.weightScale})`,
  }),
  build(config) {
    const inputDim = positiveInt('mnist-mlp', 'inputDim', config.inputDim);
    const width = positiveInt('mnist-mlp', 'width', config.width);
    const classes = positiveInt('mnist-mlp', 'classes', config.classes);
    const s = positiveNumber('mnist-mlp', 'weightScale', config.weightScale);
    const params: ParamSpec[] = [
      { name: 'W1', shape: [width, inputDim], initStd: s / Math.sqrt(inputDim), prunable: true },
      { name: 'W2', shape: [width, width], initStd: s / Math.sqrt(width), prunable: true },
      { name: 'W3', shape: [classes, width], initStd: s / Math.sqrt(width), prunable: true },
    ];
    const layer = (w: NamedTensors, x: tf.Tensor2D, name: string): tf.Tensor2D =>
      matMul2d(x, tf.transpose(w[name] as tf.Tensor2D));
    const head = (w: NamedTensors, h1: tf.Tensor2D) => layer(w, tf.relu(layer(w, tf.relu(h1), 'W2')), 'W3');
    // Pixels are x/255 with no normalisation, so ~80% of inputs are exact zeros: the first layer is
    // a sparse lookup of W1ᵀ rows by the non-zero pixels (≈5x fewer FLOPs forward and for W1's
    // gradient, and no transpose of the 1000 × 784 input). Same function as the dense product.
    const forward = (w: NamedTensors, batch: PreparedBatch): tf.Tensor2D =>
      head(
        w,
        sparseLookup(tf.transpose(w.W1 as tf.Tensor2D), batch.inputs[1] as tf.Tensor2D, batch.inputs[2] as tf.Tensor2D),
      );
    // The same with a leading run axis: K first layers as one [K·inputDim, width] table read by one
    // lookup (run r's pixel columns offset by r·inputDim), the other layers as batched products.
    const layerStacked = (w: NamedTensors, x: tf.Tensor3D, name: string): tf.Tensor3D =>
      batchedMatMul(x, transposeInner(w[name]! as tf.Tensor3D));
    const forwardStacked = (w: NamedTensors, batch: StackedBatch): tf.Tensor3D => {
      const k = batch.stack;
      const table = tf.reshape(transposeInner(w.W1! as tf.Tensor3D), [k * inputDim, width]) as tf.Tensor2D;
      const h1 = tf.reshape(sparseLookup(table, batch.inputs[0] as tf.Tensor2D, batch.inputs[1] as tf.Tensor2D), [
        k,
        batch.size,
        width,
      ]) as tf.Tensor3D;
      return layerStacked(w, tf.relu(layerStacked(w, tf.relu(h1), 'W2')), 'W3');
    };
    const expectImages = (batch: Batch): ImageBatch => {
      if (batch.kind !== 'images') throw new Error('model "mnist-mlp" reads images, got a batch of token pairs');
      if (batch.dim !== inputDim)
        throw new Error(`model "mnist-mlp" expects ${inputDim} inputs per image, got ${batch.dim}`);
      return batch;
    };
    const forwardReference = (w: NamedTensors, batch: PreparedBatch): tf.Tensor2D =>
      head(w, layer(w, batch.inputs[0] as tf.Tensor2D, 'W1'));
    return {
      kind: 'mnist-mlp',
      config: { ...config },
      params,
      numClasses: classes,
      loss: 'mse',
      input: 'images',
      prepare(batch: Batch): PreparedBatch {
        if (batch.kind !== 'images') throw new Error('model "mnist-mlp" reads images, got a batch of token pairs');
        if (batch.dim !== inputDim)
          throw new Error(`model "mnist-mlp" expects ${inputDim} inputs per image, got ${batch.dim}`);
        const size = batch.labels.length;
        return {
          size,
          // [dense images (reference path), non-zero pixels as sparse rows (fast path)]
          inputs: [tf.tensor2d(batch.images, [size, inputDim]), ...nonZeroRows(batch.images, size, inputDim)],
          targets: oneHotMatrix(batch.labels, classes),
          labels: batch.labels,
        };
      },
      forward,
      forwardReference,
      prepareStacked(batches: Batch[]): StackedBatch {
        const images = batches.map(expectImages);
        const size = commonSize(
          images.map((b) => b.labels.length),
          'mnist-mlp',
        );
        const width = Math.max(1, ...images.map((b) => nonZeroWidth(b.images, size, inputDim)));
        const rows = images.map((b, r) => nonZeroArrays(b.images, size, inputDim, width, r * inputDim));
        const idx = new Int32Array(images.length * size * width);
        const val = new Float32Array(images.length * size * width);
        rows.forEach(([i, v], r) => {
          idx.set(i, r * size * width);
          val.set(v, r * size * width);
        });
        return {
          stack: images.length,
          size,
          inputs: [
            tf.tensor2d(idx, [images.length * size, width], 'int32'),
            tf.tensor2d(val, [images.length * size, width]),
          ],
          targets: stackedOneHot(
            images.map((b) => b.labels),
            classes,
          ),
          labels: concatInt32(images.map((b) => b.labels)),
        };
      },
      forwardStacked,
    } satisfies GrokModel;
  },
};

/** The largest number of non-zero entries in a row (at least 1). */
function nonZeroWidth(x: Float32Array, rows: number, cols: number): number {
  let k = 1;
  for (let i = 0; i < rows; i++) {
    let c = 0;
    for (let j = 0; j < cols; j++) if (x[i * cols + j] !== 0) c++;
    k = Math.max(k, c);
  }
  return k;
}

/** The non-zero entries of each row as (column + shift, value) pairs, rows padded with value 0 to width k. */
function nonZeroArrays(
  x: Float32Array,
  rows: number,
  cols: number,
  k: number,
  shift: number,
): [Int32Array, Float32Array] {
  const idx = new Int32Array(rows * k);
  const val = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    let c = 0;
    for (let j = 0; j < cols; j++) {
      const v = x[i * cols + j]!;
      if (v !== 0) {
        idx[i * k + c] = j + shift;
        val[i * k + c] = v;
        c++;
      }
    }
    // padding entries point at the run's own first row (value 0: skipped)
    for (; c < k; c++) idx[i * k + c] = shift;
  }
  return [idx, val];
}

/** The non-zero entries of each row as (column, value) pairs, rows padded with value 0 to the longest. */
function nonZeroRows(x: Float32Array, rows: number, cols: number): [tf.Tensor2D, tf.Tensor2D] {
  const k = nonZeroWidth(x, rows, cols);
  const [idx, val] = nonZeroArrays(x, rows, cols, k, 0);
  return [tf.tensor2d(idx, [rows, k], 'int32'), tf.tensor2d(val, [rows, k])];
}
