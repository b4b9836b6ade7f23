import * as tf from '@tensorflow/tfjs-core';
import type { Batch, PairBatch, PreparedBatch } from './types.js';

/** One-hot matrix (size × classes) of integer labels, as float32. */
export function oneHotMatrix(labels: Int32Array, classes: number): tf.Tensor2D {
  const data = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) data[i * classes + labels[i]!] = 1;
  return tf.tensor2d(data, [labels.length, classes]);
}

/**
 * The rows of a constant sparse matrix with k entries per row, for `sparseLookup` from
 * `@grokking-tickets/backend`: column numbers (n × k, int32) and values (n × k, float32).
 * `columns[j]` gives column j of every row, `values[j]` its value (the same for every row).
 */
export function sparseRows(columns: Int32Array[], values: number[]): [tf.Tensor2D, tf.Tensor2D] {
  const n = columns[0]!.length;
  const k = columns.length;
  const idx = new Int32Array(n * k);
  const val = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      idx[i * k + j] = columns[j]![i]!;
      val[i * k + j] = values[j]!;
    }
  }
  return [tf.tensor2d(idx, [n, k], 'int32'), tf.tensor2d(val, [n, k])];
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
