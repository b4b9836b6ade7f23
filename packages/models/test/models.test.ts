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

describe('parameter counts and shapes (spec §3)', () => {
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
  it('per-tensor std within 2% of scale/√fan-in, mean ~0, norms as spec §3.5', () => {
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

  it('transformer attention uses the causal mask: logits depend on both tokens, position 0 unaffected by 1', () => {
    if (kind !== 'transformer') return;
    const model = createModel('transformer', { vocab: 7, dModel: 8, dHead: 8, dMlp: 8 });
    const w = toTensors(model, initialWeights(model, 2));
    const batch = model.prepare({
      kind: 'pairs',
      a: new Int32Array([1, 1, 2]),
      b: new Int32Array([3, 4, 3]),
      labels: new Int32Array([0, 0, 0]),
    });
    const out = model.forward(w, batch).arraySync() as number[][];
    expect(out[0]).not.toEqual(out[1]);
    expect(out[0]).not.toEqual(out[2]);
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
