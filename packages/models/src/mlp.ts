import * as tf from '@tensorflow/tfjs-core';
import { batchedMatMul, matMul2d, sparseLookup, transposeInner } from '@grokking-tickets/backend';
import {
  commonSize,
  concatInt32,
  expectPairs,
  offsetColumns,
  oneHotMatrix,
  sparseRows,
  stackedOneHot,
} from './batch.js';
import { positiveInt, positiveNumber, ModelError } from './registry.js';
import type {
  Batch,
  GrokModel,
  ModelDefinition,
  NamedTensors,
  ParamSpec,
  PreparedBatch,
  StackedBatch,
} from './types.js';

/**
 * The reference's `OnlyMLP` for modular arithmetic (protocol §3.1): embedding W_E (dEmb × vocab),
 * W_in (dModel × dEmb), optional square hidden layers, W_out (dEmb × dModel), unembedding
 * W_U (dEmb × vocab). Bias-free; init std = weightScale / √fan-in.
 */
export const mlpDefinition: ModelDefinition = {
  kind: 'mlp',
  description: 'MLP for modular arithmetic: embed (500) → ReLU hidden (48) → project (500) → unembed',
  input: 'pairs',
  defaults: { vocab: 67, dEmb: 500, dModel: 48, hiddenLayers: 0, weightScale: 1 },
  describeOptions: { weightScale: 'init scale s, std = s/√fan-in' },
  // OnlyMLP: embed.W_E, inproj.W, mlps.<l>.W, outproj.W, unembed.W_U, each with its weight_mask.
  referenceLayout: (c) => ({
    params: {
      W_E: { key: 'embed.W_E', mask: 'embed.weight_mask' },
      W_in: { key: 'inproj.W', mask: 'inproj.weight_mask' },
      ...Object.fromEntries(
        Array.from({ length: Number(c.hiddenLayers) }, (_, l) => [
          `W_h${l}`,
          { key: `mlps.${l}.W`, mask: `mlps.${l}.weight_mask` },
        ]),
      ),
      W_out: { key: 'outproj.W', mask: 'outproj.weight_mask' },
      W_U: { key: 'unembed.W_U', mask: 'unembed.weight_mask' },
    },
    buffers: {},
    constructor: `OnlyMLP(num_layers=${c.hiddenLayers}, d_vocab=${c.vocab}, d_model=${c.dModel}, d_emb=${c.dEmb}, act_type="ReLU", weight_scale=${c.weightScale})`,
  }),
  build(config) {
    const vocab = positiveInt('mlp', 'vocab', config.vocab);
    const dEmb = positiveInt('mlp', 'dEmb', config.dEmb);
    const dModel = positiveInt('mlp', 'dModel', config.dModel);
    const hidden = config.hiddenLayers;
    if (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden < 0) {
      throw new ModelError(
        `model "mlp" option "hiddenLayers" must be a non-negative integer, got ${JSON.stringify(hidden)}`,
      );
    }
    const s = positiveNumber('mlp', 'weightScale', config.weightScale);
    const hiddenNames = Array.from({ length: hidden }, (_, l) => `W_h${l}`);
    const params: ParamSpec[] = [
      { name: 'W_E', shape: [dEmb, vocab], initStd: s / Math.sqrt(vocab), prunable: true },
      { name: 'W_in', shape: [dModel, dEmb], initStd: s / Math.sqrt(dEmb), prunable: true },
      ...hiddenNames.map((name) => ({ name, shape: [dModel, dModel], initStd: s / Math.sqrt(dModel), prunable: true })),
      { name: 'W_out', shape: [dEmb, dModel], initStd: s / Math.sqrt(dModel), prunable: true },
      { name: 'W_U', shape: [dEmb, vocab], initStd: s / Math.sqrt(dEmb), prunable: true },
    ];

    const hiddenStack = (w: NamedTensors, h: tf.Tensor2D): tf.Tensor2D => {
      for (const name of hiddenNames) h = tf.relu(matMul2d(h, tf.transpose(w[name] as tf.Tensor2D)));
      return h;
    };

    return {
      kind: 'mlp',
      config: { ...config },
      params,
      numClasses: vocab,
      loss: 'cross-entropy',
      input: 'pairs',
      prepare(batch: Batch): PreparedBatch {
        const pairs = expectPairs(batch, vocab, 'mlp');
        return {
          size: pairs.labels.length,
          // [one-hot a, one-hot b (reference path); the rows (a, b) with values (1, 1) (fast path)]
          inputs: [
            oneHotMatrix(pairs.a, vocab),
            oneHotMatrix(pairs.b, vocab),
            ...sparseRows([pairs.a, pairs.b], [1, 1]),
          ],
          targets: oneHotMatrix(pairs.labels, vocab),
          labels: pairs.labels,
        };
      },
      // The network is linear before and after its ReLU, so the per-token first layer
      // A = W_in·W_E (dModel × vocab) and the output map B = W_outᵀ·W_U (dModel × vocab) are formed
      // once per step; each example then costs the sum of two rows of Aᵀ (a sparse lookup, no
      // one-hot product) and a product with B: about 15x fewer FLOPs than projecting 500-wide
      // embeddings, with the same function and gradients.
      forward(w, batch) {
        const aT = tf.transpose(matMul2d(w.W_in as tf.Tensor2D, w.W_E as tf.Tensor2D)); // vocab × dModel
        const b = matMul2d(w.W_out as tf.Tensor2D, w.W_U as tf.Tensor2D, { transposeA: true }); // dModel × vocab
        const h = hiddenStack(
          w,
          tf.relu(sparseLookup(aT, batch.inputs[2] as tf.Tensor2D, batch.inputs[3] as tf.Tensor2D)),
        );
        return matMul2d(h, b);
      },
      prepareStacked(batches: Batch[]): StackedBatch {
        const pairs = batches.map((b) => expectPairs(b, vocab, 'mlp'));
        const size = commonSize(
          pairs.map((p) => p.labels.length),
          'mlp',
        );
        const a = offsetColumns(
          pairs.map((p) => p.a),
          vocab,
        );
        const b = offsetColumns(
          pairs.map((p) => p.b),
          vocab,
        );
        return {
          stack: pairs.length,
          size,
          inputs: sparseRows([a, b], [1, 1]),
          targets: stackedOneHot(
            pairs.map((p) => p.labels),
            vocab,
          ),
          labels: concatInt32(pairs.map((p) => p.labels)),
        };
      },
      // `forward` with a leading run axis: the same operations per run, the products batched and the
      // K tables Aᵀ stacked as one [K·vocab, dModel] table read by one lookup.
      forwardStacked(w, batch) {
        const k = batch.stack;
        const aT = transposeInner(batchedMatMul(w.W_in as tf.Tensor3D, w.W_E as tf.Tensor3D)); // K × vocab × dModel
        // K × dModel × vocab
        const b = batchedMatMul(w.W_out as tf.Tensor3D, w.W_U as tf.Tensor3D, { transposeA: true });
        const looked = sparseLookup(
          tf.reshape(aT, [k * vocab, dModel]) as tf.Tensor2D,
          batch.inputs[0] as tf.Tensor2D,
          batch.inputs[1] as tf.Tensor2D,
        );
        let h = tf.relu(tf.reshape(looked, [k, batch.size, dModel])) as tf.Tensor3D;
        for (const name of hiddenNames) h = tf.relu(batchedMatMul(h, transposeInner(w[name]! as tf.Tensor3D)));
        return batchedMatMul(h, b);
      },
      // Step by step as the reference: embed each token, project each, sum, ReLU, project, unembed.
      forwardReference(w, batch) {
        const embT = tf.transpose(w.W_E as tf.Tensor2D); // vocab × dEmb
        const inT = tf.transpose(w.W_in as tf.Tensor2D); // dEmb × dModel
        const project = (oneHot: tf.Tensor) => tf.matMul(tf.matMul(oneHot as tf.Tensor2D, embT), inT);
        const h = hiddenStack(w, tf.relu(tf.add(project(batch.inputs[0]!), project(batch.inputs[1]!))));
        const z = tf.matMul(h, tf.transpose(w.W_out as tf.Tensor2D)); // size × dEmb
        return tf.matMul(z, w.W_U as tf.Tensor2D);
      },
    } satisfies GrokModel;
  },
};
