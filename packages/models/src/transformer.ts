import * as tf from '@tensorflow/tfjs';
import { expectPairs, oneHotMatrix } from './batch.js';
import { positiveInt } from './registry.js';
import type { Batch, GrokModel, ModelDefinition, NamedTensors, ParamSpec, PreparedBatch } from './types.js';

/**
 * The reference's 1-layer `Transformer` (spec §3.2): no positional embedding, no LayerNorm, no
 * biases, ReLU MLP with dMlp = dModel, causal attention over the two tokens, logits read at the last
 * position. `weight_scale` is not applied (as in the reference): std = 1/√fan-in everywhere.
 */
export const transformerDefinition: ModelDefinition = {
  kind: 'transformer',
  description: '1-layer Transformer (d_model 128, 1 head, d_mlp 128, no LayerNorm/biases/positions)',
  input: 'pairs',
  defaults: { vocab: 67, dModel: 128, heads: 1, dHead: 128, dMlp: 128 },
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
      const pre: tf.Tensor2D = tf.relu(tf.matMul(r, tf.transpose(w.W_in as tf.Tensor2D)));
      return tf.add(r, tf.matMul(pre, tf.transpose(w.W_out as tf.Tensor2D)));
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
          inputs: [oneHotMatrix(pairs.a, vocab), oneHotMatrix(pairs.b, vocab)],
          targets: oneHotMatrix(pairs.labels, vocab),
          labels: pairs.labels,
        };
      },
      // Only the last position's residual reaches the logits, and with two tokens it attends to
      // exactly positions 0 and 1, so position 0's attention output and MLP are never needed: the
      // query, the 2-way softmax and the MLP run for position 1 only. The Q/K/V projections of a
      // token depend on the token alone, so they are formed once per step for the 67-token
      // vocabulary (tables) and looked up per example: ~2x fewer FLOPs, same function.
      forward(w, batch) {
        const n = batch.size;
        const embT = tf.transpose(w.W_E as tf.Tensor2D); // vocab × dModel
        const kvT = tf.concat([projT(w.W_K!), projT(w.W_V!)], 1); // dModel × 2hd
        const tabKV = tf.matMul(embT, kvT); // vocab × 2hd
        const tab1 = tf.concat([embT, tabKV, tf.matMul(embT, projT(w.W_Q!))], 1); // vocab × (dModel + 3hd)
        const kv0 = tf.matMul(batch.inputs[0] as tf.Tensor2D, tabKV); // n × 2hd
        const row1 = tf.matMul(batch.inputs[1] as tf.Tensor2D, tab1); // n × (dModel + 3hd)
        const [k0, v0] = tf.split(kv0, 2, 1).map((t) => tf.reshape(t, [n, heads, dHead]));
        const [x1, k1, v1, q1] = tf.split(row1, [dModel, hd, hd, hd], 1);
        const q = tf.reshape(q1!, [n, heads, dHead]);
        const scores = tf.mul(tf.stack([tf.sum(tf.mul(q, k0!), -1), tf.sum(tf.mul(q, tf.reshape(k1!, [n, heads, dHead])), -1)], -1), scale); // n × heads × 2
        const attn = tf.softmax(scores);
        const [a0, a1] = tf.split(attn, 2, -1) as [tf.Tensor3D, tf.Tensor3D];
        const z = tf.reshape(tf.add(tf.mul(a0, v0!), tf.mul(a1, tf.reshape(v1!, [n, heads, dHead]))), [n, hd]) as tf.Tensor2D;
        const r: tf.Tensor2D = tf.add(x1 as tf.Tensor2D, tf.matMul(z, tf.transpose(w.W_O as tf.Tensor2D)));
        return tf.matMul(mlpBlock(w, r), w.W_U as tf.Tensor2D);
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
          tf.reshape(tf.transpose(tf.reshape(tf.matMul(flat, projT(wt)), [n, 2, heads, dHead]), [0, 2, 1, 3]), [n * heads, 2, dHead]) as tf.Tensor3D;
        const q = perHead(w.W_Q!);
        const k = perHead(w.W_K!);
        const v = perHead(w.W_V!);
        const raw = tf.matMul(q, k, false, true); // (n·heads) × 2 × 2, [t, u]
        const causal = tf.tensor3d([1, 0, 1, 1], [1, 2, 2]);
        const masked = tf.add(tf.mul(raw, causal), tf.mul(tf.sub(1, causal), -1e10));
        const attn = tf.softmax(tf.mul(masked, scale));
        const z = tf.matMul(attn, v); // (n·heads) × 2 × dHead
        const zFlat = tf.reshape(tf.transpose(tf.reshape(z, [n, heads, 2, dHead]), [0, 2, 1, 3]), [2 * n, hd]) as tf.Tensor2D;
        const r: tf.Tensor2D = tf.add(flat, tf.matMul(zFlat, tf.transpose(w.W_O as tf.Tensor2D)));
        const out = tf.reshape(mlpBlock(w, r), [n, 2, dModel]);
        const last = tf.reshape(tf.slice(out, [0, 1, 0], [n, 1, dModel]), [n, dModel]) as tf.Tensor2D;
        return tf.matMul(last, w.W_U as tf.Tensor2D);
      },
    } satisfies GrokModel;
  },
};
