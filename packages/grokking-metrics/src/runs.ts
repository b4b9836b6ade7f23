/**
 * One evaluation row of a run (a line of `metrics.jsonl`, protocol §7.1): the step (optimizer updates
 * done) and the full-set train/test cross-entropy and accuracy, plus any other logged keys (norms,
 * probabilities, ...). `validateMetricsRow` also accepts `null` for the four scalars, which is how
 * `JSON.stringify` writes a NaN or an infinite loss.
 */
export interface MetricsRow {
  step: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
  [key: string]: unknown;
}

const SCALARS = ['train_loss', 'train_acc', 'test_loss', 'test_acc'] as const;

/**
 * Checks that `value` can be used as a `MetricsRow`: a (non-array) object whose `step` is a finite
 * integer ≥ 0 and whose `train_loss`, `train_acc`, `test_loss` and `test_acc` are each a finite
 * number or `null`. Other keys are not checked.
 *
 * @returns `null` when valid, otherwise a short reason such as `"step" is missing`,
 *   `"step" is not a non-negative integer` or `"test_acc" is not a number`.
 * @example
 * validateMetricsRow({ step: 100, train_loss: 0.1, train_acc: 1, test_loss: 4.2, test_acc: 0.05 }); // null
 * validateMetricsRow({ step: 100, train_loss: 0.1, train_acc: 1, test_loss: 4.2 }); // '"test_acc" is missing'
 */
export function validateMetricsRow(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const row = value as Record<string, unknown>;
  if (!('step' in row) || row.step === undefined) return '"step" is missing';
  if (typeof row.step !== 'number') return '"step" is not a number';
  if (!Number.isInteger(row.step) || row.step < 0) return '"step" is not a non-negative integer';
  for (const key of SCALARS) {
    if (!(key in row) || row[key] === undefined) return `"${key}" is missing`;
    const v = row[key];
    if (v === null) continue;
    if (typeof v !== 'number') return `"${key}" is not a number`;
    if (!Number.isFinite(v)) return `"${key}" is not finite`;
  }
  return null;
}

/**
 * The first logged step at which `row[key] ≥ threshold` (protocol §7.2), or `null` if no row reaches
 * it. Rows are assumed to be in step order; values that are not numbers (`null`, missing) never
 * reach the threshold. The resolution is the evaluation interval: the true crossing lies in
 * (previous row's step, returned step].
 *
 * Takes `MetricsRow`s, or any rows with a numeric `step` (so an interface without an index
 * signature, such as a trainer's own row type, is accepted too).
 */
export function firstStepReaching(
  rows: readonly MetricsRow[] | readonly { step: number }[],
  key: string,
  threshold: number,
): number | null {
  for (const row of rows) {
    const v = (row as Record<string, unknown>)[key];
    if (typeof v === 'number' && v >= threshold) return row.step;
  }
  return null;
}

/**
 * Steps to generalise t_τ: the first logged step with `test_acc ≥ threshold` (τ = 0.95 by default,
 * protocol §7.2), or `null` ("not reached").
 * @example
 * const rows = [
 *   { step: 0, train_loss: 4.2, train_acc: 0.01, test_loss: 4.2, test_acc: 0.01 },
 *   { step: 100, train_loss: 0.01, train_acc: 1, test_loss: 6.0, test_acc: 0.02 },
 *   { step: 200, train_loss: 0.01, train_acc: 1, test_loss: 0.1, test_acc: 0.97 },
 * ];
 * stepsToGeneralize(rows); // 200
 * stepsToMemorize(rows);   // 100
 */
export function stepsToGeneralize(
  rows: readonly MetricsRow[] | readonly Pick<MetricsRow, 'step' | 'test_acc'>[],
  threshold = 0.95,
): number | null {
  return firstStepReaching(rows, 'test_acc', threshold);
}

/**
 * Steps to memorise t_mem: the first logged step with `train_acc ≥ threshold` (0.99 by default, protocol §7.2),
 * or `null`.
 */
export function stepsToMemorize(
  rows: readonly MetricsRow[] | readonly Pick<MetricsRow, 'step' | 'train_acc'>[],
  threshold = 0.99,
): number | null {
  return firstStepReaching(rows, 'train_acc', threshold);
}

/**
 * Speed-up of an arm over the dense run (protocol §7.2): `denseSteps / armSteps`, e.g. t_0.95(dense) /
 * t_0.95(ticket). `null` when either is `null` (not reached) or when `armSteps` is 0 (the arm
 * already met the threshold at step 0, so the ratio is undefined).
 * @example
 * speedup(19200, 600); // 32
 * speedup(null, 600);  // null
 */
export function speedup(denseSteps: number | null, armSteps: number | null): number | null {
  if (denseSteps === null || armSteps === null || armSteps === 0) return null;
  return denseSteps / armSteps;
}
