import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@grokking-tickets/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ModelError,
  applyMasks,
  countParameters,
  createModel,
  initialWeights,
  listModels,
  modelLoss,
  toReferenceStateDict,
  toTensors,
  disposeBatch,
  type Batch,
  type GrokModel,
  type NamedArrays,
} from '../src/index.js';

function pairBatch(p: number, n: number, seed: number): Batch {
  // Small deterministic LCG: test data only.
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % p;
  const a = new Int32Array(n).map(() => next());
  const b = new Int32Array(n).map(() => next());
  const labels = a.map((x, i) => (x + b[i]!) % p);
  return { kind: 'pairs', a, b, labels };
}

/** Images with ~70% exact zeros (as MNIST's background) and the rest in (0, 1]; one all-zero image. */
function imageBatch(dim: number, n: number, classes: number, seed: number): Batch {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const images = new Float32Array(n * dim).map((_, i) => (i < dim ? 0 : next() < 0.7 ? 0 : next() + 1e-3));
  const labels = new Int32Array(n).map(() => Math.floor(next() * classes));
  return { kind: 'images', images, labels, dim };
}

function randomMasks(model: GrokModel, keep: number, seed: number): NamedArrays {
  let s = seed >>> 0;
  const out: NamedArrays = {};
  for (const p of model.params) {
    const size = p.shape.reduce((x, y) => x * y, 1);
    out[p.name] = new Float32Array(size).map(() =>
      (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 < keep ? 1 : 0,
    );
  }
  return out;
}

function std(a: Float32Array): number {
  let m = 0;
  for (const x of a) m += x;
  m /= a.length;
  let v = 0;
  for (const x of a) v += (x - m) ** 2;
  return Math.sqrt(v / a.length);
}

function frob(a: Float32Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('registry', () => {
  it('lists the three paper models and rejects unknown ones', () => {
    expect(listModels()).toEqual(expect.arrayContaining(['mlp', 'transformer', 'mnist-mlp']));
    expect(() => createModel('resnet')).toThrow(ModelError);
    expect(() => createModel('resnet')).toThrow(/unknown model "resnet".*mlp/);
    expect(() => createModel('mlp', { dEmbedding: 3 })).toThrow(/no option "dEmbedding"/);
    expect(() => createModel('mlp', { dEmb: '500' })).toThrow(/must be a number/);
    expect(() => createModel('mlp', { dEmb: 0 })).toThrow(/positive integer/);
    expect(() => createModel('mlp', { weightScale: -1 })).toThrow(/positive number/);
  });
});

describe('parameter counts and shapes (protocol §3)', () => {
  it('MLP: 115 000 weights in W_E 500×67, W_in 48×500, W_out 500×48, W_U 500×67', () => {
    const m = createModel('mlp');
    expect(countParameters(m)).toBe(115000);
    expect(m.params.map((p) => [p.name, p.shape])).toEqual([
      ['W_E', [500, 67]],
      ['W_in', [48, 500]],
      ['W_out', [500, 48]],
      ['W_U', [500, 67]],
    ]);
    expect(m.params.every((p) => p.prunable)).toBe(true);
  });
  it('Transformer: 115 456 weights', () => {
    const m = createModel('transformer');
    expect(countParameters(m)).toBe(115456);
    expect(m.params.map((p) => p.name)).toEqual(['W_E', 'W_Q', 'W_K', 'W_V', 'W_O', 'W_in', 'W_out', 'W_U']);
  });
  it('MNIST MLP: 198 800 weights', () => {
    expect(countParameters(createModel('mnist-mlp'))).toBe(198800);
  });
});

describe('initialisation', () => {
  it('per-tensor std within 2% of scale/√fan-in, mean ~0, norms as protocol §3.5', () => {
    const cases: Array<[string, Record<string, number>]> = [
      ['mlp', { W_E: 1 / Math.sqrt(67), W_in: 1 / Math.sqrt(500), W_out: 1 / Math.sqrt(48), W_U: 1 / Math.sqrt(500) }],
      ['mnist-mlp', { W1: 8 / Math.sqrt(784), W2: 8 / Math.sqrt(200), W3: 8 / Math.sqrt(200) }],
      [
        'transformer',
        { W_E: 1 / Math.sqrt(67), W_Q: 1 / Math.sqrt(128), W_O: 1 / Math.sqrt(128), W_U: 1 / Math.sqrt(128) },
      ],
    ];
    for (const [kind, expected] of cases) {
      const w = initialWeights(createModel(kind), 3);
      for (const [name, s] of Object.entries(expected)) {
        expect(Math.abs(std(w[name]!) / s - 1), `${kind}.${name}`).toBeLessThan(0.02);
      }
    }
    const mlp = initialWeights(createModel('mlp'), 0);
    expect(frob(mlp.W_E!)).toBeCloseTo(Math.sqrt(500), -0.5);
    expect(frob(mlp.W_U!)).toBeCloseTo(Math.sqrt(67), -0.3);
  });

  it('code-defined l2norm at init ≈ 14.96 (MLP) and ≈ 10.92 (Transformer)', () => {
    const meanNorm = (kind: string) => {
      const w = initialWeights(createModel(kind), 1);
      const norms = Object.values(w).map(frob);
      return norms.reduce((a, b) => a + b, 0) / norms.length;
    };
    expect(meanNorm('mlp')).toBeGreaterThan(14.96 - 0.15);
    expect(meanNorm('mlp')).toBeLessThan(14.96 + 0.15);
    expect(Math.abs(meanNorm('transformer') - 10.92)).toBeLessThan(0.15);
  });

  it('is deterministic for a seed and differs between seeds; weight scale multiplies', () => {
    const m = createModel('mlp');
    expect(initialWeights(m, 5).W_in).toEqual(initialWeights(m, 5).W_in);
    expect(initialWeights(m, 5).W_in![0]).not.toBe(initialWeights(m, 6).W_in![0]);
    const scaled = initialWeights(createModel('mlp', { weightScale: 0.5 }), 5);
    expect(scaled.W_in![7]).toBeCloseTo(initialWeights(m, 5).W_in![7]! * 0.5, 6);
    expect(() => initialWeights(m, -1)).toThrow(ModelError);
  });
});

// Tolerance: both paths compute the same sums in float32 in a different order (the fast MLP path
// multiplies W_in·W_E before the token lookup; the fast MNIST path sums only non-zero pixels), so
// results agree to float32 rounding of sums of a few hundred terms: relative 1e-4 on logits, 2e-3
// on gradients (which pass through more sums).
const smallConfigs: Record<string, Record<string, number>> = {
  mlp: { vocab: 13, dEmb: 40, dModel: 16 },
  transformer: { vocab: 13, dModel: 16, dHead: 8, heads: 2, dMlp: 16 },
  'mnist-mlp': { inputDim: 30, width: 16, classes: 5, weightScale: 1 },
};
describe.each(['mlp', 'transformer', 'mnist-mlp'])('%s: fast forward equals the reference formulation', (kind) => {
  it('same logits, loss and gradients on random weights and masks', () => {
    const model = createModel(kind, smallConfigs[kind]);
    const batch = model.prepare(kind === 'mnist-mlp' ? imageBatch(30, 50, 5, 7) : pairBatch(13, 50, 7));
    const w = toTensors(model, initialWeights(model, 11));
    const masks = toTensors(model, randomMasks(model, 0.6, 3));
    const names = model.params.map((p) => p.name);
    const lossOf =
      (path: 'forward' | 'forwardReference') =>
      (...ws: tf.Tensor[]) => {
        const named = Object.fromEntries(names.map((n, i) => [n, ws[i]!]));
        const eff = applyMasks(named, masks);
        const logits = model[path](eff, batch);
        return tf.mean(tf.mul(logits, tf.randomNormal(logits.shape, 0, 1, 'float32', 5))) as tf.Scalar;
      };
    const fast = model.forward(applyMasks(w, masks), batch).arraySync() as number[][];
    const ref = model.forwardReference(applyMasks(w, masks), batch).arraySync() as number[][];
    const scale = Math.max(...ref.flat().map(Math.abs));
    for (let i = 0; i < fast.length; i++)
      for (let j = 0; j < fast[0]!.length; j++) expect(Math.abs(fast[i]![j]! - ref[i]![j]!)).toBeLessThan(1e-4 * scale);
    const list = names.map((n) => w[n]!);
    const gFast = tf.grads(lossOf('forward'))(list);
    const gRef = tf.grads(lossOf('forwardReference'))(list);
    for (let k = 0; k < names.length; k++) {
      const a = gFast[k]!.dataSync();
      const b = gRef[k]!.dataSync();
      const gs = Math.max(1e-12, ...Array.from(b).map(Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${names[k]}[${i}]`).toBeLessThan(2e-3 * gs);
    }
    disposeBatch(batch);
  });
});

/**
 * The reference Transformer by hand, in float64, for one pair (a, b): position 1 (token b) attends to
 * positions 0 and 1 with a softmax over both scores (the causal mask only hides position 1 from
 * position 0, whose output is never read), then the ReLU MLP, then the readout at position 1.
 */
function transformerByHand(
  w: NamedArrays,
  c: { vocab: number; dModel: number; heads: number; dHead: number; dMlp: number },
  a: number,
  b: number,
): number[] {
  const { vocab, dModel, heads, dHead, dMlp } = c;
  const col = (m: Float32Array, cols: number, j: number, rows: number) =>
    Array.from({ length: rows }, (_, i) => m[i * cols + j]!);
  const matVec = (m: Float32Array, rows: number, cols: number, x: number[], offset = 0) =>
    Array.from({ length: rows }, (_, i) => x.reduce((s, xj, j) => s + m[offset + i * cols + j]! * xj, 0));
  const dot = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);
  const x = [col(w.W_E!, vocab, a, dModel), col(w.W_E!, vocab, b, dModel)];
  const z: number[] = [];
  for (let h = 0; h < heads; h++) {
    const off = h * dHead * dModel;
    const q1 = matVec(w.W_Q!, dHead, dModel, x[1]!, off);
    const k = x.map((xu) => matVec(w.W_K!, dHead, dModel, xu, off));
    const v = x.map((xu) => matVec(w.W_V!, dHead, dModel, xu, off));
    const s = k.map((ku) => dot(q1, ku) / Math.sqrt(dHead));
    const e = s.map((si) => Math.exp(si - Math.max(...s)));
    const alpha = e.map((ei) => ei / (e[0]! + e[1]!));
    for (let i = 0; i < dHead; i++) z.push(alpha[0]! * v[0]![i]! + alpha[1]! * v[1]![i]!);
  }
  const attnOut = matVec(w.W_O!, dModel, heads * dHead, z);
  const r = x[1]!.map((xi, i) => xi + attnOut[i]!);
  const hidden = matVec(w.W_in!, dMlp, dModel, r).map((u) => Math.max(0, u));
  const mlpOut = matVec(w.W_out!, dModel, dMlp, hidden);
  const r2 = r.map((ri, i) => ri + mlpOut[i]!);
  return Array.from({ length: vocab }, (_, t) => dot(r2, col(w.W_U!, vocab, t, dModel)));
}

describe('transformer: causal attention over the two tokens', () => {
  const c = { vocab: 7, dModel: 8, heads: 2, dHead: 4, dMlp: 8 };

  it('the logits are position 1 attending to both tokens (softmax), the MLP and the readout, as computed by hand', () => {
    const model = createModel('transformer', c);
    const w = initialWeights(model, 2);
    const a = new Int32Array(c.vocab * c.vocab).map((_, i) => Math.floor(i / c.vocab));
    const b = new Int32Array(c.vocab * c.vocab).map((_, i) => i % c.vocab);
    const batch = model.prepare({ kind: 'pairs', a, b, labels: new Int32Array(a.length) });
    const tensors = toTensors(model, w);
    const fast = model.forward(tensors, batch).arraySync() as number[][];
    const ref = model.forwardReference(tensors, batch).arraySync() as number[][];
    const hand = Array.from(a, (ai, i) => transformerByHand(w, c, ai, b[i]!));
    const scale = Math.max(...hand.flat().map(Math.abs));
    for (let i = 0; i < hand.length; i++)
      for (let t = 0; t < c.vocab; t++) {
        expect(Math.abs(fast[i]![t]! - hand[i]![t]!), `forward (${a[i]}, ${b[i]})[${t}]`).toBeLessThan(1e-5 * scale);
        expect(Math.abs(ref[i]![t]! - hand[i]![t]!), `forwardReference (${a[i]}, ${b[i]})[${t}]`).toBeLessThan(
          1e-5 * scale,
        );
      }
    // both tokens matter: the first through attention alone, so a change of a alone changes the logits
    expect(fast[0]).not.toEqual(fast[1]); // (0, 0) vs (0, 1)
    expect(fast[0]).not.toEqual(fast[c.vocab]); // (0, 0) vs (1, 0)
    disposeBatch(batch);
  });

  it("the causal mask exported with the weights is the reference's tril buffer: position 0 sees only itself", () => {
    const model = createModel('transformer', c);
    const sd = toReferenceStateDict(model, initialWeights(model, 0));
    // [query position, key position]: row 0 = [1, 0] (position 0 does not see position 1), row 1 = [1, 1]
    expect(sd['blocks.0.attn.mask']).toEqual({ shape: [2, 2], data: Float32Array.from([1, 0, 1, 1]) });
  });
});

describe('masks', () => {
  it('masked forward equals zeroed weights; pruned entries get exactly zero gradient', () => {
    const model = createModel('mlp', { vocab: 11, dEmb: 30, dModel: 12 });
    const batch = model.prepare(pairBatch(11, 40, 1));
    const weights = initialWeights(model, 4);
    const maskArrays = randomMasks(model, 0.4, 9);
    const zeroed: NamedArrays = Object.fromEntries(
      Object.entries(weights).map(([k, v]) => [k, v.map((x, i) => x * maskArrays[k]![i]!)]),
    );
    const masks = toTensors(model, maskArrays);
    const a = model.forward(applyMasks(toTensors(model, weights), masks), batch).dataSync();
    const b = model.forward(toTensors(model, zeroed), batch).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const names = model.params.map((p) => p.name);
    const grads = tf.grads((...ws: tf.Tensor[]) =>
      modelLoss(model, applyMasks(Object.fromEntries(names.map((n, i) => [n, ws[i]!])), masks), batch),
    )(names.map((n) => tf.tensor(weights[n]!, model.params.find((p) => p.name === n)!.shape)));
    let pruned = 0;
    names.forEach((n, k) => {
      const g = grads[k]!.dataSync();
      const m = maskArrays[n]!;
      for (let i = 0; i < g.length; i++)
        if (m[i] === 0) {
          expect(g[i] === 0, `${n}[${i}]`).toBe(true); // -0 counts as zero
          pruned++;
        }
    });
    expect(pruned).toBeGreaterThan(500); // ~60% of 1 380 weights
    // and the unpruned gradient is not trivially zero
    expect(Math.max(...Array.from(grads[0]!.dataSync()).map(Math.abs))).toBeGreaterThan(0);
  });

  it('prepare rejects tokens outside the vocabulary and the wrong batch kind', () => {
    const model = createModel('mlp', { vocab: 5, dEmb: 4, dModel: 3 });
    expect(() =>
      model.prepare({ kind: 'pairs', a: new Int32Array([5]), b: new Int32Array([0]), labels: new Int32Array([0]) }),
    ).toThrow(/outside the vocabulary/);
    expect(() => createModel('mnist-mlp').prepare(pairBatch(5, 2, 1))).toThrow(/reads images/);
  });
});
