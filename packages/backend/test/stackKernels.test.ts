import { describe, expect, it } from 'vitest';
import { adamwComposed } from '../src/kernels/fastKernels.js';
import {
  adamwUpdate,
  adamwUpdateStacked,
  batchedMatMul,
  crossEntropyFirstOrder,
  crossEntropyFirstOrderStacked,
  crossEntropy,
  crossEntropyStacked,
  matMul2d,
  meanSquaredError,
  meanSquaredErrorStacked,
  tf,
  transposeInner,
  type AdamWConstants,
} from '../src/index.js';
import { describeEachBackend, randomValues } from './helpers.js';

/** Sequential float32 sum Σ_p a[i,p]·b[p,j] from 0, one product at a time (XNNPACK's order). */
function sequentialProduct(a: number[], b: number[], m: number, k: number, n: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = f(s + f(f(a[i * k + p]!) * f(b[p * n + j]!)));
      out[i * n + j] = s;
    }
  }
  return out;
}

const bits = (x: ArrayLike<number>) => Array.from(x, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v));

// Shapes of the three models' products, and small ones for the tile edges (m or n < 4, not multiples of 4 or 8).
const SHAPES: Array<[number, number, number]> = [
  [48, 500, 67],
  [48, 67, 500],
  [911, 48, 67],
  [48, 911, 67],
  [3, 5, 7],
  [9, 2, 13],
  [4, 4, 4],
  [6, 3, 11],
  [1, 6, 2],
];

describeEachBackend('batchedMatMul', (backend) => {
  it.each(SHAPES)(
    'each batch is tf.matMul of that batch alone, bit for bit, whatever the batch size (%i×%i·×%i)',
    (m, k, n) => {
      const batch = 3;
      const a = randomValues(batch * m * k, m * 7 + k);
      const b = randomValues(batch * k * n, n * 13 + k);
      const out = batchedMatMul(tf.tensor3d(a, [batch, m, k]), tf.tensor3d(b, [batch, k, n])).dataSync();
      const outT = batchedMatMul(
        tf.transpose(tf.tensor3d(a, [batch, m, k]), [0, 2, 1]) as tf.Tensor3D,
        tf.tensor3d(b, [batch, k, n]),
        { transposeA: true },
      ).dataSync();
      for (let s = 0; s < batch; s++) {
        const as = a.slice(s * m * k, (s + 1) * m * k);
        const bs = b.slice(s * k * n, (s + 1) * k * n);
        const alone = tf.matMul(tf.tensor2d(as, [m, k]), tf.tensor2d(bs, [k, n])).dataSync();
        const slice = (x: Float32Array | Int32Array | Uint8Array) => x.slice(s * m * n, (s + 1) * m * n);
        expect(bits(slice(out as Float32Array))).toEqual(bits(alone));
        expect(bits(slice(outT as Float32Array))).toEqual(bits(alone));
        expect(bits(matMul2d(tf.tensor2d(as, [m, k]), tf.tensor2d(bs, [k, n])).dataSync())).toEqual(bits(alone));
        // On wasm, also the independent sequential sum (the order XNNPACK and the kernel both use).
        if (backend === 'wasm') expect(bits(alone)).toEqual(bits(sequentialProduct(as, bs, m, k, n)));
      }
    },
  );

  it('its gradients are those of tf.matMul with explicit transposes (bit for bit), for A and Aᵀ', () => {
    const [batch, m, k, n] = [2, 6, 5, 9];
    const a = tf.tensor3d(randomValues(batch * m * k, 1), [batch, m, k]);
    const b = tf.tensor3d(randomValues(batch * k * n, 2), [batch, k, n]);
    const w = tf.tensor3d(randomValues(batch * m * n, 3), [batch, m, n]);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D), w));
    const [ga, gb] = tf.grads(f)([a, b]);
    const aT = tf.transpose(a, [0, 2, 1]);
    const [gaT, gbT] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(batchedMatMul(x as tf.Tensor3D, y as tf.Tensor3D, { transposeA: true }), w)),
    )([aT, b]);
    for (let s = 0; s < batch; s++) {
      const as = tf.reshape(tf.slice(a, [s, 0, 0], [1, m, k]), [m, k]);
      const bs = tf.reshape(tf.slice(b, [s, 0, 0], [1, k, n]), [k, n]);
      const ws = tf.reshape(tf.slice(w, [s, 0, 0], [1, m, n]), [m, n]);
      const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), ws)),
      )([as, bs]);
      const sl = (t: tf.Tensor, shape: number[]) => bits(tf.slice(t, [s, 0, 0], [1, ...shape]).dataSync());
      expect(sl(ga!, [m, k])).toEqual(bits(ra!.dataSync()));
      expect(sl(gb!, [k, n])).toEqual(bits(rb!.dataSync()));
      expect(sl(gaT!, [k, m])).toEqual(bits(tf.transpose(ra!).dataSync()));
      expect(sl(gbT!, [k, n])).toEqual(bits(rb!.dataSync()));
    }
  });

  it('checks shapes with a one-line error', () => {
    expect(() => batchedMatMul(tf.zeros([2, 3, 4]) as tf.Tensor3D, tf.zeros([3, 4, 5]) as tf.Tensor3D)).toThrow(
      /^batchedMatMul: shapes \[2,3,4\] and \[3,4,5\] are not/,
    );
  });
});

describeEachBackend('transposeInner', () => {
  it.each([
    [2, 5, 7],
    [3, 4, 8],
    [1, 1, 3],
    [2, 9, 4],
  ])('swaps the last two axes (%i×%i×%i) and is its own gradient', (batch, r, c) => {
    const x = tf.tensor3d(randomValues(batch * r * c, r * c), [batch, r, c]);
    expect(bits(transposeInner(x).dataSync())).toEqual(bits(tf.transpose(x, [0, 2, 1]).dataSync()));
    const w = tf.tensor3d(randomValues(batch * r * c, 5), [batch, c, r]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(transposeInner(t as tf.Tensor3D), w)))(x);
    expect(bits(g.dataSync())).toEqual(bits(tf.transpose(w, [0, 2, 1]).dataSync()));
  });
});

describeEachBackend('adamwUpdateStacked', () => {
  it('updates each run as adamwUpdate alone with its own constants, and leaves frozen runs unchanged', () => {
    const runs = 3;
    const n = 11; // SIMD body and scalar tail
    const mk = (seed: number, scale = 1) => tf.tensor2d(randomValues(runs * n, seed, scale), [runs, n]);
    const [p, g, m] = [mk(1), mk(2), mk(3, 0.1)];
    const v = tf.abs(mk(4, 0.01));
    const c = (t: number, lr: number, wd: number): AdamWConstants => ({
      beta1: 0.9,
      beta2: 0.98,
      eps: 1e-8,
      decay: 1 - lr * wd,
      bc2Sqrt: Math.sqrt(1 - 0.98 ** t),
      stepSize: lr / (1 - 0.9 ** t),
    });
    const constants = [c(1, 1e-3, 1), null, c(7, 3e-3, 0.5)];
    const out = adamwUpdateStacked(p, g, m, v, constants).map((t) => t.dataSync());
    constants.forEach((cr, r) => {
      const row = (t: tf.Tensor) => tf.reshape(tf.slice(t, [r, 0], [1, n]), [n]);
      const want = cr
        ? adamwUpdate(row(p), row(g), row(m), row(v), cr).map((t) => t.dataSync())
        : [row(p), row(m), row(v)].map((t) => t.dataSync());
      if (cr) expect(bits(want[0]!)).toEqual(bits(adamwComposed(row(p), row(g), row(m), row(v), cr)[0].dataSync()));
      want.forEach((w, i) => expect(bits(out[i]!.slice(r * n, (r + 1) * n))).toEqual(bits(w)));
    });
    expect(() => adamwUpdateStacked(p, g, m, v, [null])).toThrow(/1 runs' constants for a stack of 3/);
  });
});

describeEachBackend('stacked losses', () => {
  it('give each run the loss, and the gradient, of the solo loss (bit for bit)', () => {
    const [k, rows, classes] = [3, 5, 7];
    const logits = tf.tensor3d(randomValues(k * rows * classes, 9, 4), [k, rows, classes]);
    const labels = Array.from({ length: k * rows }, (_, i) => (i * 5) % classes);
    const targets = tf.reshape(tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'), [
      k,
      rows,
      classes,
    ]) as tf.Tensor3D;
    const sum = (f: (x: tf.Tensor3D) => tf.Tensor) => (x: tf.Tensor) => tf.sum(f(x as tf.Tensor3D));
    const first = crossEntropyFirstOrderStacked(logits, targets).dataSync();
    const plain = crossEntropyStacked(logits, targets).dataSync();
    const mse = meanSquaredErrorStacked(logits, targets).dataSync();
    const g = tf
      .grad(sum((x) => crossEntropyFirstOrderStacked(x, targets)))(logits)
      .dataSync();
    const gm = tf
      .grad(sum((x) => meanSquaredErrorStacked(x, targets)))(logits)
      .dataSync();
    for (let r = 0; r < k; r++) {
      const x = tf.reshape(tf.slice(logits, [r, 0, 0], [1, rows, classes]), [rows, classes]) as tf.Tensor2D;
      const t = tf.reshape(tf.slice(targets, [r, 0, 0], [1, rows, classes]), [rows, classes]) as tf.Tensor2D;
      expect(first[r]).toBe(crossEntropyFirstOrder(x, t).dataSync()[0]);
      expect(plain[r]).toBe(crossEntropy(x, t).dataSync()[0]);
      expect(mse[r]).toBe(meanSquaredError(x, t).dataSync()[0]);
      const slice = (a: ArrayLike<number>) => bits(Array.from(a).slice(r * rows * classes, (r + 1) * rows * classes));
      expect(slice(g)).toEqual(
        bits(
          tf
            .grad((y: tf.Tensor) => crossEntropyFirstOrder(y as tf.Tensor2D, t))(x)
            .dataSync(),
        ),
      );
      expect(slice(gm)).toEqual(
        bits(
          tf
            .grad((y: tf.Tensor) => meanSquaredError(y, t))(x)
            .dataSync(),
        ),
      );
    }
  });
});

describe('stacked kernels and tidy', () => {
  it('leak no tensors', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const a = tf.ones([2, 3, 4]) as tf.Tensor3D;
      batchedMatMul(a, tf.ones([2, 4, 5]) as tf.Tensor3D);
      transposeInner(a);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describeEachBackend('tf.clone (Identity)', (backend) => {
  it(`gives an equal tensor that outlives its source${backend === 'wasm' ? ' (sharing its buffer on wasm)' : ''}`, () => {
    const x = tf.tensor2d([1, -2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const z = tf.reshape(y, [4]);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3, 4]);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, -2, 3, 4]);
    z.dispose();
    // A gradient that saves its inputs (clones) is unchanged.
    const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]));
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(w, w))) as tf.Scalar, [w]);
    const g = grads[w.name]!.dataSync();
    // d/dW Σ (W W)²: with P = W W, dW = 2 (P Wᵀ + Wᵀ P)
    const W = [0.5, -1, 2, 0.25];
    const P = [0.5 * 0.5 + -1 * 2, 0.5 * -1 + -1 * 0.25, 2 * 0.5 + 0.25 * 2, 2 * -1 + 0.25 * 0.25];
    const mm = (a: number[], b: number[]) => [
      a[0]! * b[0]! + a[1]! * b[2]!,
      a[0]! * b[1]! + a[1]! * b[3]!,
      a[2]! * b[0]! + a[3]! * b[2]!,
      a[2]! * b[1]! + a[3]! * b[3]!,
    ];
    const T = (a: number[]) => [a[0]!, a[2]!, a[1]!, a[3]!];
    const want = mm(P, T(W)).map((v, i) => 2 * (v + mm(T(W), P)[i]!));
    Array.from(g).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    w.dispose();
  });
});
