import { expect, it } from 'vitest';
import { gradientFixes, tf } from '../src/index.js';
import { stockGradient } from '../src/gradients/register.js';
import {
  FD_ATOL,
  FD_RTOL,
  describeEachBackend,
  finiteDifferenceGrads,
  randomTensor,
  worstViolation,
} from './helpers.js';

/** Analytic gradients of f (with the fixes registered) must match central differences. */
function expectGradsMatchFD(f: (xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[]): void {
  const analytic = tf.tidy(() =>
    tf
      .grads((...args: tf.Tensor[]) => f(args))(xs)
      .map((g) => Array.from(g.dataSync())),
  );
  const numeric = finiteDifferenceGrads(f, xs);
  analytic.forEach((a, i) => {
    expect(a.every(Number.isFinite)).toBe(true);
    const worst = worstViolation(a, numeric[i] as number[], FD_ATOL, FD_RTOL);
    expect(worst.excess, `input ${i}: ${JSON.stringify(worst)}`).toBeLessThanOrEqual(0);
  });
}

/**
 * Second order: g(xs) = Σ_i <∂f/∂x_i, u_i> computed by autodiff; its own autodiff gradient (a
 * Hessian-vector product) must match central differences of g. This is the path GraSP uses.
 */
function expectSecondOrderMatchesFD(f: (xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[], seed: number): void {
  const us = xs.map((x, i) => randomTensor(x.shape, seed + i));
  const g = (args: tf.Tensor[]): tf.Scalar => {
    const grads = tf.grads((...a: tf.Tensor[]) => f(a))(args);
    return tf.addN(grads.map((gi, i) => tf.sum(tf.mul(gi, us[i] as tf.Tensor)))) as tf.Scalar;
  };
  expectGradsMatchFD(g, xs);
}

/** Weighted sum Σ w ⊙ y with fixed random weights, so every output entry matters differently. */
function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, randomTensor(y.shape, seed))) as tf.Scalar;
}

const registered = new Set(gradientFixes.map((c) => c.kernelName));

it('registers one config per kernel, each with a gradFunc', () => {
  expect(registered.size).toBe(gradientFixes.length);
  expect([...registered].sort()).toEqual(
    [
      'BatchMatMul',
      'Equal',
      'Exp',
      'Greater',
      'GreaterEqual',
      'Less',
      'LessEqual',
      'NotEqual',
      'Sigmoid',
      'Softmax',
      'Tanh',
    ].sort(),
  );
  for (const c of gradientFixes) expect(typeof c.gradFunc).toBe('function');
});

describeEachBackend('corrected gradients', () => {
  it('are the ones registered', () => {
    for (const c of gradientFixes) expect(tf.getGradient(c.kernelName)).toBe(c);
  });

  unaryTests();
  matMulTests();
  comparisonTests();
});

/** Exp, Softmax, Sigmoid, Tanh: first and second order against finite differences. */
function unaryTests(): void {
  const cases: Array<{ kernel: string; op: (x: tf.Tensor) => tf.Tensor; shape: number[]; scale: number }> = [
    { kernel: 'Exp', op: (x) => tf.exp(x), shape: [3, 4], scale: 1.5 },
    { kernel: 'Softmax', op: (x) => tf.softmax(x), shape: [3, 5], scale: 2 },
    { kernel: 'Softmax', op: (x) => tf.softmax(x), shape: [7], scale: 2 },
    { kernel: 'Sigmoid', op: (x) => tf.sigmoid(x), shape: [2, 5], scale: 3 },
    { kernel: 'Tanh', op: (x) => tf.tanh(x), shape: [2, 5], scale: 2 },
  ];
  cases.forEach(({ kernel, op, shape, scale }, n) => {
    it(`${kernel} [${shape}]: gradient matches finite differences`, () => {
      const x = randomTensor(shape, 100 + n, scale);
      expectGradsMatchFD(([a]) => weightedSum(op(a as tf.Tensor), 200 + n), [x]);
    });
    it(`${kernel} [${shape}]: second order (gradient of the gradient) matches finite differences`, () => {
      const x = randomTensor(shape, 300 + n, scale);
      expectSecondOrderMatchesFD(([a]) => weightedSum(op(a as tf.Tensor), 400 + n), [x], 500 + n);
    });
  });

  it('Exp: the gradient is dy ⊙ exp(x) exactly', () => {
    const x = randomTensor([6], 7, 2);
    const dy = randomTensor([6], 8);
    const g = tf.grad((a: tf.Tensor) => tf.exp(a))(x, dy);
    expect(Array.from(g.dataSync())).toEqual(Array.from(tf.mul(dy, tf.exp(x)).dataSync()));
  });
}

/** BatchMatMul: all transpose combinations, 2-D and batched, identical to stock, FD, 2nd order. */
function matMulTests(): void {
  // [m, k] x [k, n] in the forward orientation; stored shapes follow the transpose flags.
  const combos: Array<[boolean, boolean]> = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  const m = 2;
  const k = 3;
  const nOut = 4;
  const shapes = (batch: number[], tA: boolean, tB: boolean): [number[], number[]] => [
    [...batch, ...(tA ? [k, m] : [m, k])],
    [...batch, ...(tB ? [nOut, k] : [k, nOut])],
  ];

  for (const batch of [[], [2]]) {
    for (const [tA, tB] of combos) {
      const label = `BatchMatMul ${batch.length ? 'batched ' : ''}transposeA=${tA} transposeB=${tB}`;

      it(`${label}: identical to the stock gradient`, () => {
        const stock = stockGradient('BatchMatMul');
        const ours = tf.getGradient('BatchMatMul');
        expect(stock).toBeDefined();
        expect(ours).not.toBe(stock);
        const [sa, sb] = shapes(batch, tA, tB);
        const attrs = { transposeA: tA, transposeB: tB };
        // Small integers: every product and sum is exact in float32, so the two must agree bit
        // for bit whatever order the kernels sum in.
        const ints = (shape: number[], seed: number): tf.Tensor => tf.round(randomTensor(shape, seed, 4));
        for (const [a, b, exact] of [
          [ints(sa, 1), ints(sb, 2), true],
          [randomTensor(sa, 3), randomTensor(sb, 4), false],
        ] as Array<[tf.Tensor, tf.Tensor, boolean]>) {
          const y = tf.matMul(a, b, tA, tB);
          const dy = exact ? tf.round(randomTensor(y.shape, 5, 4)) : randomTensor(y.shape, 6);
          const s = (stock as tf.GradConfig).gradFunc(dy, [a, b], attrs);
          const o = ours.gradFunc(dy, [a, b], attrs);
          for (const name of ['a', 'b']) {
            const sv = (s[name] as () => tf.Tensor)();
            const ov = (o[name] as () => tf.Tensor)();
            expect(ov.shape).toEqual(sv.shape);
            if (exact) expect(Array.from(ov.dataSync())).toEqual(Array.from(sv.dataSync()));
            else expect(worstViolation(ov.dataSync(), sv.dataSync(), 1e-6, 1e-6).excess).toBeLessThanOrEqual(0);
          }
        }
      });

      it(`${label}: gradient and second order match finite differences`, () => {
        const [sa, sb] = shapes(batch, tA, tB);
        const f = ([a, b]: tf.Tensor[]): tf.Scalar =>
          weightedSum(tf.matMul(a as tf.Tensor, b as tf.Tensor, tA, tB), 11);
        expectGradsMatchFD(f, [randomTensor(sa, 12), randomTensor(sb, 13)]);
        // Pure matMul is bilinear; a tanh makes the second order non-trivial in both operands.
        const g = ([a, b]: tf.Tensor[]): tf.Scalar =>
          weightedSum(tf.tanh(tf.matMul(a as tf.Tensor, b as tf.Tensor, tA, tB)), 14);
        expectSecondOrderMatchesFD(g, [randomTensor(sa, 15), randomTensor(sb, 16)], 17);
      });
    }
  }

  it('BatchMatMul with broadcast batch axes: gradients are summed back to each input shape', () => {
    // [3, 4] x [2, 4, 5] and [1, 3, 4] x [2, 4, 5]: the stock gradient returns a [2, 3, 4] gradient
    // for the first operand and the engine rejects it.
    for (const sa of [
      [3, 4],
      [1, 3, 4],
    ]) {
      const a = randomTensor(sa, 21);
      const b = randomTensor([2, 4, 5], 22);
      const f = ([x, y]: tf.Tensor[]): tf.Scalar => weightedSum(tf.matMul(x as tf.Tensor, y as tf.Tensor), 23);
      expectGradsMatchFD(f, [a, b]);
      const ga = tf.grads((x: tf.Tensor, y: tf.Tensor) => f([x, y]))([a, b])[0] as tf.Tensor;
      expect(ga.shape).toEqual(sa);
    }
  });
}

/** Comparison ops: zero gradients, float32 even for integer inputs, usable inside larger tapes. */
function comparisonTests(): void {
  const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
    ['Equal', tf.equal],
    ['NotEqual', tf.notEqual],
    ['Greater', tf.greater],
    ['GreaterEqual', tf.greaterEqual],
    ['Less', tf.less],
    ['LessEqual', tf.lessEqual],
  ];
  for (const [kernel, op] of ops) {
    it(`${kernel}: zero gradient, matching finite differences (away from ties)`, () => {
      // Entries of a and b differ by ≥ 0.3 ≫ h, so no finite-difference step crosses a threshold
      // and the numerical derivative is exactly 0; exact ties (b = a) are checked analytically below.
      const a = tf.tensor1d([0.5, -1, 2, 0.25, -0.75, 1.5]);
      const b = tf.tensor1d([0.1, -0.5, 2.5, 1, -1.5, 1.2]);
      const f = ([x, y]: tf.Tensor[]): tf.Scalar =>
        weightedSum(tf.cast(op(x as tf.Tensor, y as tf.Tensor), 'float32'), 31);
      expectGradsMatchFD(f, [a, b]);
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.cast(op(x, y), 'float32')))([a, a.clone()]);
      expect(Array.from((ga as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(Array.from((gb as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    });

    it(`${kernel}: float32 zero gradient for int32 inputs`, () => {
      const a = tf.tensor1d([1, 2, 3], 'int32');
      const b = tf.tensor1d([2, 2, 2], 'int32');
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.cast(op(x, y), 'float32')))([a, b]);
      expect((ga as tf.Tensor).dtype).toBe('float32');
      expect(Array.from((gb as tf.Tensor).dataSync())).toEqual([0, 0, 0]);
    });
  }

  it('a hand-written mask x ⊙ [x > 0] differentiates like relu (needs the Greater gradient)', () => {
    const x = tf.tensor1d([0.5, -1, 2, -0.25, 1.5, -2]);
    const f = ([y]: tf.Tensor[]): tf.Scalar =>
      weightedSum(tf.mul(y as tf.Tensor, tf.cast(tf.greater(y as tf.Tensor, 0), 'float32')), 41);
    expectGradsMatchFD(f, [x]);
  });

  it('second order through the stock Max gradient works (needs the Equal gradient)', () => {
    // f(X) = Σ_i (max_j X_ij)²: ∇f = 2 m_i at each row's argmax, so H v = 2 v at the argmax.
    const x = tf.tensor2d([
      [0.5, 2, -1],
      [3, 0.25, 1],
    ]);
    const v = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const hv = tf.grad((y: tf.Tensor) => {
      const g = tf.grad((z: tf.Tensor) => tf.sum(tf.square(tf.max(z, 1))))(y);
      return tf.sum(tf.mul(g, v));
    })(x);
    expect(hv.arraySync()).toEqual([
      [0, 4, 0],
      [8, 0, 0],
    ]);
  });

  it('second order through the stock Maximum gradient works (needs the Less gradient)', () => {
    const x = tf.tensor1d([0.5, -1, 2, -0.25]);
    const f = ([y]: tf.Tensor[]): tf.Scalar => weightedSum(tf.square(tf.maximum(y as tf.Tensor, 0)), 51);
    expectSecondOrderMatchesFD(f, [x], 52);
  });
}
