import * as tf from '@tensorflow/tfjs';
import type { Batch, PairBatch, PreparedBatch } from './types.js';

/** One-hot matrix (size × classes) of integer labels, as float32. */
export function oneHotMatrix(labels: Int32Array, classes: number): tf.Tensor2D {
  const data = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) data[i * classes + labels[i]!] = 1;
  return tf.tensor2d(data, [labels.length, classes]);
}

/** Sum of the one-hot rows of a and b ("two-hot"; 2 at a when a = b). */
export function twoHotMatrix(a: Int32Array, b: Int32Array, vocab: number): tf.Tensor2D {
  const data = new Float32Array(a.length * vocab);
  for (let i = 0; i < a.length; i++) {
    data[i * vocab + a[i]!] += 1;
    data[i * vocab + b[i]!] += 1;
  }
  return tf.tensor2d(data, [a.length, vocab]);
}

/** Throws unless the batch is of the expected kind and its tokens fit the vocabulary. */
export function expectPairs(batch: Batch, vocab: number, model: string): PairBatch {
  if (batch.kind !== 'pairs') throw new Error(`model "${model}" reads token pairs, got a batch of ${batch.kind}`);
  for (const arr of [batch.a, batch.b]) {
    for (let i = 0; i < arr.length; i++) {
      if (arr[i]! < 0 || arr[i]! >= vocab) throw new Error(`model "${model}": token ${arr[i]} outside the vocabulary 0..${vocab - 1}`);
    }
  }
  return batch;
}

/** Frees the tensors of a prepared batch. */
export function disposeBatch(batch: PreparedBatch): void {
  tf.dispose([...batch.inputs, batch.targets]);
}
