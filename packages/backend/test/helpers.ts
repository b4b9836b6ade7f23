import { beforeAll, describe } from 'vitest';
import { initBackend, tf, type BackendName } from '../src/index.js';

/** The backends every numeric suite runs on (tfjs-node is not installable on the test machines). */
export const TEST_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/** One `describe` per backend, each activating its backend (and the gradient fixes) first. */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const backend of TEST_BACKENDS) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        const choice = await initBackend(backend);
        if (tf.getBackend() !== backend || choice.name !== backend) throw new Error(`could not activate ${backend}`);
      });
      body(backend);
    });
  }
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32), so tests do not depend on tf.random. */
export function randomValues(n: number, seed: number, scale = 1): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out.push((2 * u - 1) * scale);
  }
  return out;
}

/** A float32 tensor of the given shape filled with {@link randomValues}. */
export function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(randomValues(n, seed, scale), shape, 'float32');
}

/*
 * Finite differences in float32.
 *
 * The functions under test can only be evaluated in float32 (unit roundoff u = 2^-24 ≈ 6e-8). For a
 * central difference (f(x+h) − f(x−h)) / 2h the error is about
 *     truncation  h²/6 · |f'''|      +      rounding  ≈ u · F / h,
 * where F bounds the magnitude of the terms f sums (our test functions are small: F ≲ 10, and
 * |f'''| ≲ 10 on inputs of order 1). The sum is minimised near h = (3uF/|f'''|)^(1/3) ≈ 5e-3; we use
 * h = 2^-7 ≈ 7.8e-3, giving ≲ 1e-4 + 8e-5 ≈ 2e-4 worst case. The tolerance below, 1e-3 absolute plus
 * 1e-3 relative, keeps a ≥ 5x margin, while any actual gradient bug (a missing term, a wrong
 * transpose, a dropped second-order path) shows up as an error of order 1e-1 to 1.
 * The step actually taken is fround(x+h) − fround(x−h) (exact in float64), not 2h, so rounding
 * of the perturbed input itself costs nothing.
 */
export const FD_STEP = 2 ** -7;
export const FD_ATOL = 1e-3;
export const FD_RTOL = 1e-3;

/** Central-difference gradient of a scalar function of several tensors, element by element. */
export function finiteDifferenceGrads(f: (xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[], h = FD_STEP): number[][] {
  const base = xs.map((x) => Array.from(x.dataSync()));
  const evalAt = (which: number, values: number[]): number =>
    tf.tidy(() => {
      const args = xs.map((x, i) => (i === which ? tf.tensor(values, x.shape, 'float32') : x));
      return f(args).dataSync()[0] as number;
    });
  return base.map((vals, which) =>
    vals.map((x0, k) => {
      const plus = vals.slice();
      const minus = vals.slice();
      plus[k] = Math.fround(x0 + h);
      minus[k] = Math.fround(x0 - h);
      return (evalAt(which, plus) - evalAt(which, minus)) / ((plus[k] as number) - (minus[k] as number));
    }),
  );
}

/** Largest violation of |a − b| ≤ atol + rtol·|b| (≤ 0 means all within tolerance), and where. */
export function worstViolation(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): { excess: number; index: number; actual: number; expected: number } {
  let worst = { excess: -Infinity, index: -1, actual: NaN, expected: NaN };
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const excess = Number.isFinite(a) ? Math.abs(a - e) - (atol + rtol * Math.abs(e)) : Infinity;
    if (excess > worst.excess) worst = { excess, index: i, actual: a, expected: e };
  }
  return worst;
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = (actual[i] as number) - (expected[i] as number);
    num += d * d;
    den += (expected[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Flattens nested number arrays (fixture JSON) into one list. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap((y) => flat(y)) : [x as number];
}
