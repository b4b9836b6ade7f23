import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adamwComposed } from '../src/kernels/fastKernels.js';
import {
  adamwUpdate,
  fastKernelsActive,
  hessianVectorProduct,
  sparseLookup,
  tf,
  type AdamWConstants,
} from '../src/index.js';
import { describeEachBackend, randomValues } from './helpers.js';

describe('fast kernel binary', () => {
  it('the committed fastKernelsBinary.ts is what build-kernels.mjs compiles from fastKernels.wat', () => {
    const script = fileURLToPath(new URL('../scripts/build-kernels.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

/** A random lookup problem and its answer computed in float64 by plain loops. */
function problem(rows: number, d: number, n: number, k: number, seed: number) {
  const table = randomValues(rows * d, seed);
  const idx = randomValues(n * k, seed + 1).map((u) => Math.min(rows - 1, Math.floor(((u + 1) / 2) * rows)));
  // values: +1, −1, arbitrary, and 0 (padding, skipped by the kernel) in turn
  const val = randomValues(n * k, seed + 2).map((u, i) => [1, -1, u * 3, 0][i % 4]!);
  const dy = randomValues(n * d, seed + 3);
  const out = new Array<number>(n * d).fill(0);
  const adj = new Array<number>(rows * d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const t = idx[i * k + j]!;
      const c = val[i * k + j]!;
      for (let c2 = 0; c2 < d; c2++) {
        out[i * d + c2] += c * table[t * d + c2]!;
        adj[t * d + c2] += c * dy[i * d + c2]!;
      }
    }
  }
  return { table, idx, val, dy, out, adj };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describeEachBackend('sparseLookup', (backend) => {
  it(`runs the fused kernel on wasm only (${backend})`, () => {
    expect(fastKernelsActive()).toBe(backend === 'wasm');
  });

  // d covers the SIMD body (multiples of 4) and the scalar tail; k = 1, 2, 3 with values ±1 and
  // arbitrary ones, repeated indices included (n ≫ rows). Each output sums at most 3 products of
  // numbers below 3 in float32: error ≤ 3·3·2⁻²⁴ per term, so 1e-5 absolute is a safe bound.
  it.each([
    [1, 1],
    [3, 2],
    [4, 2],
    [7, 3],
    [128, 2],
  ])('equals the float64 sum and its adjoint (d = %i, k = %i)', (d, k) => {
    const rows = 9;
    const n = 40;
    const p = problem(rows, d, n, k, 17 * d + k);
    tf.tidy(() => {
      const table = tf.tensor2d(p.table, [rows, d]);
      const idx = tf.tensor2d(p.idx, [n, k], 'int32');
      const val = tf.tensor2d(p.val, [n, k]);
      expect(maxAbsDiff(sparseLookup(table, idx, val).dataSync(), p.out)).toBeLessThan(1e-5);
      const dy = tf.tensor2d(p.dy, [n, d]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(sparseLookup(t as tf.Tensor2D, idx, val), dy)))(table);
      expect(maxAbsDiff(g.dataSync(), p.adj)).toBeLessThan(1e-5);
    });
  });

  it('is twice differentiable: Hessian-vector product of Σ r ⊙ lookup(T)² is 2·adjoint(r ⊙ lookup(v))', () => {
    const rows = 6;
    const d = 5;
    const n = 12;
    const k = 2;
    const p = problem(rows, d, n, k, 3);
    const v = randomValues(rows * d, 99);
    // expected: lookup(v), times r (= p.dy), scattered back with the same values, times 2 (float64)
    const lv = new Array<number>(n * d).fill(0);
    const expected = new Array<number>(rows * d).fill(0);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++)
        for (let c = 0; c < d; c++) lv[i * d + c] += p.val[i * k + j]! * v[p.idx[i * k + j]! * d + c]!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < k; j++)
        for (let c = 0; c < d; c++)
          expected[p.idx[i * k + j]! * d + c] += 2 * p.val[i * k + j]! * p.dy[i * d + c]! * lv[i * d + c]!;
    tf.tidy(() => {
      const idx = tf.tensor2d(p.idx, [n, k], 'int32');
      const val = tf.tensor2d(p.val, [n, k]);
      const r = tf.tensor2d(p.dy, [n, d]);
      const f = ([t]: tf.Tensor[]) =>
        tf.sum(tf.mul(r, tf.square(sparseLookup(t as tf.Tensor2D, idx, val)))) as tf.Scalar;
      const [hv] = hessianVectorProduct(f, [tf.tensor2d(p.table, [rows, d])], [tf.tensor2d(v, [rows, d])]);
      expect(maxAbsDiff(hv!.dataSync(), expected)).toBeLessThan(1e-4);
    });
  });

  it('rejects an index outside the table with a one-line error and leaks nothing', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const table = tf.zeros([4, 3]) as tf.Tensor2D;
      const ones = tf.ones([2, 1]) as tf.Tensor2D;
      expect(() => sparseLookup(table, tf.tensor2d([1, 4], [2, 1], 'int32'), ones)).toThrow(
        /^sparseLookup: index 4 is outside the table's rows 0\.\.3$/,
      );
      expect(() => sparseLookup(table, tf.tensor2d([-1, 0], [2, 1], 'int32'), ones)).toThrow(/index -1 is outside/);
      expect(() => sparseLookup(table, tf.tensor2d([0, 1], [2, 1], 'float32'), ones)).toThrow(
        /indices must be a 2-D int32 tensor/,
      );
      expect(() => sparseLookup(table, tf.tensor2d([0, 1], [2, 1], 'int32'), tf.ones([2, 2]) as tf.Tensor2D)).toThrow(
        /values must be float32 of the indices' shape/,
      );
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  if (backend === 'wasm') {
    it('the kernel itself traps on a bad index (bypassing the check) and frees its output', () => {
      const table = tf.zeros([4, 3]);
      const idx = tf.tensor2d([0, 7], [2, 1], 'int32');
      const val = tf.ones([2, 1]);
      const before = tf.memory().numTensors;
      expect(() => tf.engine().runKernel('GrokSparseLookup', { table, indices: idx, values: val }, {})).toThrow(
        /^sparseLookup: an index is outside the table's rows$/,
      );
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([table, idx, val]);
    });
  }
});

describeEachBackend('adamwUpdate', (backend) => {
  // The fused kernel does the composition's float32 operations in the same order, so the results
  // must be equal bit for bit (not merely close); sizes cover the SIMD body and the scalar tail.
  it.each([1, 3, 4, 5, 67 * 48 + 3])(`is bit-identical to the tf-op composition (${backend}, n = %i)`, (n) => {
    for (const [t, wd] of [
      [1, 1],
      [7, 0],
      [2500, 1],
    ] as const) {
      const lr = 1e-3;
      const c: AdamWConstants = {
        beta1: 0.9,
        beta2: 0.98,
        eps: 1e-8,
        decay: 1 - lr * wd,
        bc2Sqrt: Math.sqrt(1 - 0.98 ** t),
        stepSize: lr / (1 - 0.9 ** t),
      };
      tf.tidy(() => {
        const p = tf.tensor1d(randomValues(n, t, 2));
        const g = tf.tensor1d(randomValues(n, t + 1, 0.5).map((x, i) => (i % 5 === 0 ? x * 1e-9 : x)));
        const m = tf.tensor1d(randomValues(n, t + 2, 0.1));
        // v = 0 where g is tiny (every 35th entry, the first included) makes ε decide the step there.
        const v = tf.tensor1d(randomValues(n, t + 3, 0.01).map((x, i) => (i % 7 === 0 ? 0 : Math.abs(x))));
        const fused = adamwUpdate(p, g, m, v, c).map((x) => Array.from(x.dataSync()));
        const plain = adamwComposed(p, g, m, v, c).map((x) => Array.from(x.dataSync()));
        expect(fused).toEqual(plain);
      });
    }
  });
});
