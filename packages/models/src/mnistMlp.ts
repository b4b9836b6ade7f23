import * as tf from '@tensorflow/tfjs';
import { oneHotMatrix } from './batch.js';
import { positiveInt, positiveNumber } from './registry.js';
import type { Batch, GrokModel, ModelDefinition, NamedTensors, ParamSpec, PreparedBatch } from './types.js';

/**
 * The reference's MNIST MLP (spec §3.3): 784 → ReLU 200 → ReLU 200 → 10, bias-free, init std
 * weightScale/√fan-in with weightScale 8 (the Omnigrok large-init setting), scored with MSE.
 */
export const mnistMlpDefinition: ModelDefinition = {
  kind: 'mnist-mlp',
  description: 'MNIST MLP 784-200-200-10, bias-free, init scale 8, MSE loss',
  input: 'images',
  defaults: { inputDim: 784, width: 200, classes: 10, weightScale: 8 },
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
    const forward = (w: NamedTensors, batch: PreparedBatch): tf.Tensor2D => {
      const layer = (x: tf.Tensor2D, name: string): tf.Tensor2D => tf.matMul(x, tf.transpose(w[name] as tf.Tensor2D));
      const h1 = tf.relu(layer(batch.inputs[0] as tf.Tensor2D, 'W1'));
      const h2 = tf.relu(layer(h1, 'W2'));
      return layer(h2, 'W3');
    };
    return {
      kind: 'mnist-mlp',
      config: { ...config },
      params,
      numClasses: classes,
      loss: 'mse',
      input: 'images',
      prepare(batch: Batch): PreparedBatch {
        if (batch.kind !== 'images') throw new Error('model "mnist-mlp" reads images, got a batch of token pairs');
        if (batch.dim !== inputDim) throw new Error(`model "mnist-mlp" expects ${inputDim} inputs per image, got ${batch.dim}`);
        const size = batch.labels.length;
        return {
          size,
          inputs: [tf.tensor2d(batch.images, [size, inputDim])],
          targets: oneHotMatrix(batch.labels, classes),
          labels: batch.labels,
        };
      },
      forward,
      forwardReference: forward,
    } satisfies GrokModel;
  },
};
