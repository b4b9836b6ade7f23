import { describe, expect, it } from 'vitest';
import {
  firstStepReaching,
  speedup,
  stepsToGeneralize,
  stepsToMemorize,
  validateMetricsRow,
  type MetricsRow,
} from '../src/index.js';

const row = (step: number, train_acc: number, test_acc: number, extra: Record<string, unknown> = {}): MetricsRow => ({
  step,
  train_loss: 1 - train_acc,
  train_acc,
  test_loss: 1 - test_acc,
  test_acc,
  ...extra,
});

// A run that memorises at step 200 (0.99 reached; 0.95 at 100) and groks at 500 (0.95) / 600 (0.99) / 700 (1.0)
const rows = [
  row(0, 0.02, 0.01),
  row(100, 0.96, 0.02),
  row(200, 0.99, 0.03),
  row(300, 1, 0.5),
  row(400, 1, 0.949999),
  row(500, 1, 0.95),
  row(600, 1, 0.995),
  row(700, 1, 1),
];

describe('steps to generalise and memorise (protocol §7.2)', () => {
  it('first logged step at or above the threshold (≥, not >)', () => {
    expect(stepsToGeneralize(rows)).toBe(500);
    expect(stepsToGeneralize(rows, 0.99)).toBe(600);
    expect(stepsToGeneralize(rows, 1)).toBe(700);
    expect(stepsToMemorize(rows)).toBe(200);
    expect(stepsToMemorize(rows, 0.95)).toBe(100);
    expect(firstStepReaching(rows, 'train_acc', 0.5)).toBe(100);
  });
  it('null when never reached, or for no rows', () => {
    expect(stepsToGeneralize(rows.slice(0, 5))).toBeNull();
    expect(stepsToMemorize([])).toBeNull();
    expect(firstStepReaching(rows, 'test_acc', 1.01)).toBeNull();
  });
  it('any logged key; values that are not numbers never reach the threshold', () => {
    const r = [
      row(0, 0, 0, { l2_global: 30 }),
      row(10, 0, 0, { l2_global: null }),
      row(20, 0, 0, { l2_global: '99' }),
      row(30, 0, 0, { l2_global: 12 }),
      row(40, 0, 0),
    ];
    expect(firstStepReaching(r, 'l2_global', 20)).toBe(0);
    expect(firstStepReaching(r.slice(1), 'l2_global', 20)).toBeNull();
    expect(firstStepReaching(r.slice(1), 'l2_global', 12)).toBe(30);
    expect(firstStepReaching([row(0, 0, Number.NaN)], 'test_acc', 0)).toBeNull();
  });
});

describe('speedup', () => {
  it('dense / arm, null when either is missing or the arm is at step 0', () => {
    expect(speedup(19200, 600)).toBe(32);
    expect(speedup(17600, 500)).toBeCloseTo(35.2, 12);
    expect(speedup(null, 600)).toBeNull();
    expect(speedup(19200, null)).toBeNull();
    expect(speedup(19200, 0)).toBeNull();
    expect(speedup(0, 100)).toBe(0);
  });
});

describe('validateMetricsRow', () => {
  const ok = { step: 100, train_loss: 0.1, train_acc: 1, test_loss: 4.2, test_acc: 0.05 };
  it('accepts a row, extra keys, and null scalars (how JSON writes NaN)', () => {
    expect(validateMetricsRow(ok)).toBeNull();
    expect(validateMetricsRow({ ...ok, step: 0, l1norm: 'anything' })).toBeNull();
    expect(
      validateMetricsRow(JSON.parse(JSON.stringify({ ...ok, train_loss: Number.NaN, test_loss: Infinity }))),
    ).toBeNull();
  });
  it('names the first problem', () => {
    expect(validateMetricsRow(null)).toBe('not an object');
    expect(validateMetricsRow([1, 2])).toBe('not an object');
    expect(validateMetricsRow('{"step":1}')).toBe('not an object');
    const { step: _s, ...noStep } = ok;
    expect(validateMetricsRow(noStep)).toBe('"step" is missing');
    expect(validateMetricsRow({ ...ok, step: '100' })).toBe('"step" is not a number');
    expect(validateMetricsRow({ ...ok, step: null })).toBe('"step" is not a number');
    expect(validateMetricsRow({ ...ok, step: -1 })).toBe('"step" is not a non-negative integer');
    expect(validateMetricsRow({ ...ok, step: 1.5 })).toBe('"step" is not a non-negative integer');
    expect(validateMetricsRow({ ...ok, step: Infinity })).toBe('"step" is not a non-negative integer');
    const { test_acc: _t, ...noAcc } = ok;
    expect(validateMetricsRow(noAcc)).toBe('"test_acc" is missing');
    expect(validateMetricsRow({ ...ok, test_acc: undefined })).toBe('"test_acc" is missing');
    expect(validateMetricsRow({ ...ok, test_acc: '0.5' })).toBe('"test_acc" is not a number');
    expect(validateMetricsRow({ ...ok, train_loss: Number.NaN })).toBe('"train_loss" is not finite');
    expect(validateMetricsRow({ ...ok, train_acc: -Infinity })).toBe('"train_acc" is not finite');
  });
});
