import * as tf from '@tensorflow/tfjs-core';
import type { Batch, PairBatch, PreparedBatch, StackedBatch } from './types.js';

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
      if (arr[i]! < 0 || arr[i]! >= vocab)
        throw new Error(`model "${model}": token ${arr[i]} outside the vocabulary 0..${vocab - 1}`);
    }
  }
  return batch;
}

/** Frees the tensors of a prepared batch. */
export function disposeBatch(batch: PreparedBatch): void {
  tf.dispose([...batch.inputs, batch.targets]);
}

/** K one-hot matrices, [K, size, classes], from K label arrays of equal length. */
export function stackedOneHot(labels: Int32Array[], classes: number): tf.Tensor3D {
  const n = labels[0]!.length;
  const data = new Float32Array(labels.length * n * classes);
  labels.forEach((l, r) => {
    for (let i = 0; i < n; i++) data[(r * n + i) * classes + l[i]!] = 1;
  });
  return tf.tensor3d(data, [labels.length, n, classes]);
}

/** Checks that K batches have the same size and returns it. */
export function commonSize(sizes: number[], model: string): number {
  if (sizes.length === 0) throw new Error(`model "${model}": a stack needs at least one batch`);
  if (sizes.some((s) => s !== sizes[0]))
    throw new Error(`model "${model}": the batches of a stack must have the same size, got ${sizes.join(', ')}`);
  return sizes[0]!;
}

/**
 * Column arrays of K runs laid one after another, run r's columns shifted by r·rows: the rows of
 * run r's table in the K tables stacked as one [K·rows, d] table.
 */
export function offsetColumns(perRun: Int32Array[], rows: number): Int32Array {
  const n = perRun[0]!.length;
  const out = new Int32Array(perRun.length * n);
  perRun.forEach((c, r) => {
    for (let i = 0; i < n; i++) out[r * n + i] = c[i]! + r * rows;
  });
  return out;
}

/** Concatenates Int32Arrays. */
export function concatInt32(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Frees the tensors of a stacked batch. */
export function disposeStackedBatch(batch: StackedBatch): void {
  tf.dispose([...batch.inputs, batch.targets]);
}
