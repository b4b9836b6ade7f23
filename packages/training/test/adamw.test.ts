import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@grokking-tickets/backend';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, PAPER_ADAMW } from '../src/index.js';

const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/adamw.json', import.meta.url), 'utf8')) as {
  shape: [number, number];
  theta0: number[];
  grads: number[][];
  cases: Array<{
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    thetas: number[][];
    m: number[];
    v: number[];
  }>;
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('AdamW (PyTorch semantics)', () => {
  it('first step by hand: θ1 = θ0(1 − lr·λ) − lr·g/(|g| + ε)', () => {
    // After one step m̂ = g and v̂ = g², so the Adam direction is g/(|g|+ε) ≈ sign(g).
    const theta = tf.variable(tf.tensor1d([0.5, -2, 3, 0]));
    const opt = new AdamW({ w: theta }, { ...PAPER_ADAMW });
    const g = [0.2, -4, 0, 1e-9];
    opt.apply({ w: tf.tensor1d(g) });
    const got = theta.dataSync();
    const lr = 1e-3;
    const expected = [0.5, -2, 3, 0].map((x, i) => x * (1 - lr * 1) - (lr * g[i]!) / (Math.abs(g[i]!) + 1e-8));
    expected.forEach((e, i) => expect(got[i]).toBeCloseTo(e, 6));
    // a gradient of 1e-9 is below ε scale: the step is lr·1e-9/(1e-9+1e-8) = lr/11
    expect(got[3]).toBeCloseTo(-lr / 11, 7);
    expect(opt.t).toBe(1);
  });

  it.each([0, 1, 2])('matches a float64 numpy trajectory over 5 steps (case %i)', (k) => {
    const c = fixture.cases[k]!;
    const theta = tf.variable(tf.tensor2d(fixture.theta0, fixture.shape));
    const opt = new AdamW({ w: theta }, c);
    fixture.grads.forEach((g, step) => {
      opt.apply({ w: tf.tensor2d(g, fixture.shape) });
      const got = theta.dataSync();
      // float32 parameters: agreement to ~1e-6 absolute on O(1) values.
      c.thetas[step]!.forEach((e, i) => expect(Math.abs(got[i]! - e), `step ${step + 1} [${i}]`).toBeLessThan(2e-6));
    });
    const state = opt.getState();
    expect(state.t).toBe(5);
    c.m.forEach((e, i) => expect(Math.abs(state.m.w![i]! - e)).toBeLessThan(1e-6));
    c.v.forEach((e, i) => expect(Math.abs(state.v.w![i]! - e)).toBeLessThan(1e-6 * Math.max(1, Math.abs(e))));
  });

  it('state round-trips: a restored optimiser continues identically', () => {
    const c = fixture.cases[0]!;
    const a = tf.variable(tf.tensor2d(fixture.theta0, fixture.shape));
    const optA = new AdamW({ w: a }, c);
    for (const g of fixture.grads.slice(0, 3)) optA.apply({ w: tf.tensor2d(g, fixture.shape) });
    const b = tf.variable(tf.tensor2d(Array.from(a.dataSync()), fixture.shape));
    const optB = new AdamW({ w: b }, c);
    optB.setState(optA.getState());
    for (const g of fixture.grads.slice(3)) {
      optA.apply({ w: tf.tensor2d(g, fixture.shape) });
      optB.apply({ w: tf.tensor2d(g, fixture.shape) });
    }
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it('rejects bad hyper-parameters with one-line errors', () => {
    const v = tf.variable(tf.zeros([2]));
    expect(() => new AdamW({ v }, { ...PAPER_ADAMW, lr: 0 })).toThrow(/lr must be a positive number/);
    expect(() => new AdamW({ v }, { ...PAPER_ADAMW, beta2: 1 })).toThrow(/beta2/);
    expect(() => new AdamW({ v }, { ...PAPER_ADAMW, weightDecay: -1 })).toThrow(/weightDecay/);
  });
});
