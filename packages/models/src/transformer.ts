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
import { positiveInt } from './registry.js';
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
 * The reference's 1-layer `Transformer` (protocol §3.2): no positional embedding, no LayerNorm, no
 * biases, ReLU MLP with dMlp = dModel, causal attention over the two tokens, logits read at the last
 * position. `weight_scale` is not applied (as in the reference): std = 1/√fan-in everywhere.
 */
export const transformerDefinition: ModelDefinition = {
  kind: 'transformer',
  description: '1-layer Transformer (d_model 128, 1 head, d_mlp 128, no LayerNorm/biases/positions)',
  input: 'pairs',
  defaults: { vocab: 67, dModel: 128, heads: 1, dHead: 128, dMlp: 128 },
  // Transformer with one block: embed, blocks.0.attn (W_Q/K/V/O, weight_maskQ/K/V/O and the causal
  // `mask` buffer), blocks.0.mlp (W_in/W_out, weight_mask_in/out), unembed.
  referenceLayout: (c) => ({
    params: {
      W_E: { key: 'embed.W_E', mask: 'embed.weight_mask' },
      W_Q: { key: 'blocks.0.attn.W_Q', mask: 'blocks.0.attn.weight_maskQ' },
      W_K: { key: 'blocks.0.attn.W_K', mask: 'blocks.0.attn.weight_maskK' },
      W_V: { key: 'blocks.0.attn.W_V', mask: 'blocks.0.attn.weight_maskV' },
      W_O: { key: 'blocks.0.attn.W_O', mask: 'blocks.0.attn.weight_maskO' },
      W_in: { key: 'blocks.0.mlp.W_in', mask: 'blocks.0.mlp.weight_mask_in' },
      W_out: { key: 'blocks.0.mlp.W_out', mask: 'blocks.0.mlp.weight_mask_out' },
      W_U: { key: 'unembed.W_U', mask: 'unembed.weight_mask' },
    },
    buffers: { 'blocks.0.attn.mask': { shape: [2, 2], data: Float32Array.from([1, 0, 1, 1]) } },
    constructor: `Transformer(num_layers=1, d_vocab=${c.vocab}, d_model=${c.dModel}, d_mlp=${c.dMlp}, d_head=${c.dHead}, num_heads=${c.heads}, n_ctx=2, act_type="ReLU", use_ln=False)`,
  }),
  build(config) {
    const vocab = positiveInt('transformer', 'vocab', config.vocab);
    const dModel = positiveInt('transformer', 'dModel', config.dModel);
    const heads = positiveInt('transformer', 'heads', config.heads);
    const dHead = positiveInt('transformer', 'dHead', config.dHead);
    const dMlp = positiveInt('transformer', 'dMlp', config.dMlp);
    const hd = heads * dHead;
    const inv = 1 / Math.sqrt(dModel);
    const params: ParamSpec[] = [
      { name: 'W_E', shape: [dModel, vocab], initStd: 1 / Math.sqrt(vocab), prunable: true },
      { name: 'W_Q', shape: [heads, dHead, dModel], initStd: inv, prunable: true },
      { name: 'W_K', shape: [heads, dHead, dModel], initStd: inv, prunable: true },
      { name: 'W_V', shape: [heads, dHead, dModel], initStd: inv, prunable: true },
      { name: 'W_O', shape: [dModel, hd], initStd: 1 / Math.sqrt(hd), prunable: true },
      { name: 'W_in', shape: [dMlp, dModel], initStd: inv, prunable: true },
      { name: 'W_out', shape: [dModel, dMlp], initStd: inv, prunable: true },
      { name: 'W_U', shape: [dModel, vocab], initStd: inv, prunable: true },
    ];
    const scale = 1 / Math.sqrt(dHead);
    // (heads, dHead, dModel) → (dModel, heads·dHead): one product projects every head at once.
    const projT = (w: tf.Tensor) => tf.transpose(tf.reshape(w, [hd, dModel])) as tf.Tensor2D;
    const mlpBlock = (w: NamedTensors, r: tf.Tensor2D): tf.Tensor2D => {
      const pre: tf.Tensor2D = tf.relu(matMul2d(r, tf.transpose(w.W_in as tf.Tensor2D)));
      return tf.add(r, matMul2d(pre, tf.transpose(w.W_out as tf.Tensor2D)));
    };

    return {
      kind: 'transformer',
      config: { ...config },
      params,
      numClasses: vocab,
      loss: 'cross-entropy',
      input: 'pairs',
      prepare(batch: Batch): PreparedBatch {
        const pairs = expectPairs(batch, vocab, 'transformer');
        return {
          size: pairs.labels.length,
          // Reference path: [one-hot a, one-hot b]. Fast path, as sparse rows (indices, values): the
          // row b; the signed pair (a, b) with (+1, −1); the same pair in the flattened score table.
          inputs: [
            oneHotMatrix(pairs.a, vocab),
            oneHotMatrix(pairs.b, vocab),
            ...sparseRows([pairs.b], [1]),
            ...sparseRows([pairs.a, pairs.b], [1, -1]),
            ...sparseRows([pairs.b.map((b, i) => b * vocab + pairs.a[i]!), pairs.b.map((b) => b * vocab + b)], [1, -1]),
          ],
          targets: oneHotMatrix(pairs.labels, vocab),
          labels: pairs.labels,
        };
      },
      // Only the last position's residual reaches the logits, and with two tokens it attends to
      // exactly positions 0 (token a) and 1 (token b), so the query, the softmax and the MLP run for
      // position 1 only. Everything attention does before the MLP depends on the tokens alone, so it
      // is formed once per step as vocabulary-sized tables: per head h the score table
      // S_h = (E·W_Qᵀ)(E·W_Kᵀ)ᵀ (vocab × vocab) and the value-output table VO_h = (E·W_Vᵀ)·W_O,hᵀ
      // (vocab × dModel). With the two attention weights α and 1 − α, α = σ(scale·(S_h[b,a] − S_h[b,b])),
      // the residual is E[b] + Σ_h VO_h[b] + Σ_h α_h·(VO_h[a] − VO_h[b]): sparse lookups of a row,
      // a signed pair of rows and a signed pair of scores. No per-example Q/K/V/O products and no
      // one-hot products (~4x fewer FLOPs), and no column splits, which are slow kernels on WASM.
      forward(w, batch) {
        const n = batch.size;
        const [, , rowB, oneB, pairAB, signAB, pairS, signS] = batch.inputs as tf.Tensor2D[];
        const embT = tf.transpose(w.W_E as tf.Tensor2D); // vocab × dModel
        // Per-head token projections as [heads, vocab, dHead].
        const perHead = (wt: tf.Tensor) =>
          tf.transpose(tf.reshape(matMul2d(embT, projT(wt)), [vocab, heads, dHead]), [1, 0, 2]) as tf.Tensor3D;
        const kT = transposeInner(perHead(w.W_K!)); // heads × dHead × vocab
        const scores = batchedMatMul(perHead(w.W_Q!), kT); // heads × vocab (query token b) × vocab (key token)
        // [b·vocab + key, h]
        const sTable = tf.reshape(tf.transpose(scores, [1, 2, 0]), [vocab * vocab, heads]) as tf.Tensor2D;
        // heads × dHead × dModel
        const oT = tf.transpose(tf.reshape(w.W_O!, [dModel, heads, dHead]), [1, 2, 0]) as tf.Tensor3D;
        const voHeads = batchedMatMul(perHead(w.W_V!), oT); // heads × vocab × dModel
        // [tok, h·dModel + i]
        const voTable = tf.reshape(tf.transpose(voHeads, [1, 0, 2]), [vocab, heads * dModel]) as tf.Tensor2D;
        const gap = sparseLookup(sTable, pairS!, signS!); // S_h[b,a] − S_h[b,b], n × heads
        const alpha = tf.reshape(tf.sigmoid(tf.mul(gap, scale)), [n, heads, 1]); // softmax weight of position 0
        const delta = tf.mul(alpha, tf.reshape(sparseLookup(voTable, pairAB!, signAB!), [n, heads, dModel]));
        // E[tok] + Σ_h VO_h[tok]
        const base = tf.add(embT, heads === 1 ? tf.reshape(voHeads, [vocab, dModel]) : tf.sum(voHeads, 0));
        const r: tf.Tensor2D = tf.add(
          sparseLookup(base as tf.Tensor2D, rowB!, oneB!),
          heads === 1 ? tf.reshape(delta, [n, dModel]) : tf.sum(delta, 1),
        );
        return matMul2d(mlpBlock(w, r), w.W_U as tf.Tensor2D);
      },
      prepareStacked(batches: Batch[]): StackedBatch {
        const pairs = batches.map((b) => expectPairs(b, vocab, 'transformer'));
        const size = commonSize(
          pairs.map((p) => p.labels.length),
          'transformer',
        );
        const cols = (f: (p: (typeof pairs)[number]) => Int32Array, rows: number) => offsetColumns(pairs.map(f), rows);
        const v2 = vocab * vocab;
        return {
          stack: pairs.length,
          size,
          // as `prepare`'s fast path, run r's rows offset into the K stacked tables
          inputs: [
            ...sparseRows([cols((p) => p.b, vocab)], [1]),
            ...sparseRows([cols((p) => p.a, vocab), cols((p) => p.b, vocab)], [1, -1]),
            ...sparseRows(
              [cols((p) => p.b.map((b, i) => b * vocab + p.a[i]!), v2), cols((p) => p.b.map((b) => b * vocab + b), v2)],
              [1, -1],
            ),
          ],
          targets: stackedOneHot(
            pairs.map((p) => p.labels),
            vocab,
          ),
          labels: concatInt32(pairs.map((p) => p.labels)),
        };
      },
      // `forward` with a leading run axis K: the same operations per run; products batched over
      // runs (and heads), the K tables of each kind stacked into one table read by one lookup.
      forwardStacked(w, batch) {
        const k = batch.stack;
        const n = batch.size;
        const [rowB, oneB, pairAB, signAB, pairS, signS] = batch.inputs as tf.Tensor2D[];
        const embT = transposeInner(w.W_E! as tf.Tensor3D); // K × vocab × dModel
        const projTs = (wt: tf.Tensor) => transposeInner(tf.reshape(wt, [k, hd, dModel]) as tf.Tensor3D);
        // [K·heads, vocab, dHead]
        const perHead = (wt: tf.Tensor) =>
          tf.reshape(
            tf.transpose(tf.reshape(batchedMatMul(embT, projTs(wt)), [k, vocab, heads, dHead]), [0, 2, 1, 3]),
            [k * heads, vocab, dHead],
          ) as tf.Tensor3D;
        const kT = transposeInner(perHead(w.W_K!));
        const scores = tf.reshape(batchedMatMul(perHead(w.W_Q!), kT), [k, heads, vocab, vocab]);
        const sTable = tf.reshape(tf.transpose(scores, [0, 2, 3, 1]), [k * vocab * vocab, heads]) as tf.Tensor2D;
        const oT = tf.reshape(tf.transpose(tf.reshape(w.W_O!, [k, dModel, heads, dHead]), [0, 2, 3, 1]), [
          k * heads,
          dHead,
          dModel,
        ]) as tf.Tensor3D;
        const voHeads = tf.reshape(batchedMatMul(perHead(w.W_V!), oT), [k, heads, vocab, dModel]);
        const voTable = tf.reshape(tf.transpose(voHeads, [0, 2, 1, 3]), [k * vocab, heads * dModel]) as tf.Tensor2D;
        const gap = sparseLookup(sTable, pairS!, signS!);
        const alpha = tf.reshape(tf.sigmoid(tf.mul(gap, scale)), [k * n, heads, 1]);
        const delta = tf.mul(alpha, tf.reshape(sparseLookup(voTable, pairAB!, signAB!), [k * n, heads, dModel]));
        const base = tf.add(embT, heads === 1 ? tf.reshape(voHeads, [k, vocab, dModel]) : tf.sum(voHeads, 1));
        const r = tf.add(
          sparseLookup(tf.reshape(base, [k * vocab, dModel]) as tf.Tensor2D, rowB!, oneB!),
          heads === 1 ? tf.reshape(delta, [k * n, dModel]) : tf.sum(delta, 1),
        );
        const r3 = tf.reshape(r, [k, n, dModel]) as tf.Tensor3D;
        const pre = tf.relu(batchedMatMul(r3, transposeInner(w.W_in! as tf.Tensor3D)));
        const out = tf.add(r3, batchedMatMul(pre, transposeInner(w.W_out! as tf.Tensor3D))) as tf.Tensor3D;
        return batchedMatMul(out, w.W_U as tf.Tensor3D);
      },
      // As the reference: both positions, full causal attention with −1e10 fill, MLP at both.
      forwardReference(w, batch) {
        const n = batch.size;
        const embT = tf.transpose(w.W_E as tf.Tensor2D);
        const x = tf.stack(
          [tf.matMul(batch.inputs[0] as tf.Tensor2D, embT), tf.matMul(batch.inputs[1] as tf.Tensor2D, embT)],
          1,
        ) as tf.Tensor3D; // n × 2 × dModel
        const flat = tf.reshape(x, [2 * n, dModel]) as tf.Tensor2D;
        const perHead = (wt: tf.Tensor) =>
          tf.reshape(tf.transpose(tf.reshape(tf.matMul(flat, projT(wt)), [n, 2, heads, dHead]), [0, 2, 1, 3]), [
            n * heads,
            2,
            dHead,
          ]) as tf.Tensor3D;
        const q = perHead(w.W_Q!);
        const k = perHead(w.W_K!);
        const v = perHead(w.W_V!);
        const raw = tf.matMul(q, k, false, true); // (n·heads) × 2 × 2, [t, u]
        const causal = tf.tensor3d([1, 0, 1, 1], [1, 2, 2]);
        const masked = tf.add(tf.mul(raw, causal), tf.mul(tf.sub(1, causal), -1e10));
        const attn = tf.softmax(tf.mul(masked, scale));
        const z = tf.matMul(attn, v); // (n·heads) × 2 × dHead
        const zFlat = tf.reshape(tf.transpose(tf.reshape(z, [n, heads, 2, dHead]), [0, 2, 1, 3]), [
          2 * n,
          hd,
        ]) as tf.Tensor2D;
        const r: tf.Tensor2D = tf.add(flat, tf.matMul(zFlat, tf.transpose(w.W_O as tf.Tensor2D)));
        const out = tf.reshape(mlpBlock(w, r), [n, 2, dModel]);
        const last = tf.reshape(tf.slice(out, [0, 1, 0], [n, 1, dModel]), [n, dModel]) as tf.Tensor2D;
        return tf.matMul(last, w.W_U as tf.Tensor2D);
      },
    } satisfies GrokModel;
  },
};
