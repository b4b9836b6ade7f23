import type { ReportSweep, SweepPointValues, SweepResultRow } from './types.js';

/**
 * Pure statistics of a sweep's result rows for its figures and tables. Vocabulary: a sweep's
 * *varied axes* are its axes with more than one value, the seed aside (seeds are the replicates
 * that bands and medians are taken over). A run serves one or more grid points; an axis is the
 * run's *own* when it has one value at all of them, else the run is *shared* across it (the
 * mask-free dense arm serves every pruning rate of its seed).
 */

/** An axis value as a report prints it. */
export type AxisValue = string | number;

/** The varied axes of a sweep, in file order, without `seed`. */
export function variedAxes(sweep: ReportSweep): string[] {
  return sweep.axes.filter((a) => a.name !== 'seed' && a.values.length > 1).map((a) => a.name);
}

/** True when the sweep has a pruning-rate axis with more than one value. */
export function variesPruningRate(sweep: ReportSweep): boolean {
  return variedAxes(sweep).includes('pruningRate');
}

function pointsOf(sweep: ReportSweep, row: SweepResultRow): SweepPointValues[] {
  return row.points.map((i) => sweep.points[i]!);
}

/** The row's value of each varied axis: the value at all of its points, or null when it is shared across the axis. */
export function ownAxisValues(sweep: ReportSweep, row: SweepResultRow): Record<string, AxisValue | null> {
  const points = pointsOf(sweep, row);
  return Object.fromEntries(
    variedAxes(sweep).map((a) => {
      const values = new Set(points.map((p) => p.axes[a]));
      return [a, values.size === 1 ? points[0]!.axes[a]! : null];
    }),
  );
}

/** What a row is, as a line of a figure or table starts: its arm, else `dense source` or `run`. */
export function armLabel(row: SweepResultRow): string {
  if (row.arm !== null) return row.arm;
  return row.role === 'dense-source' ? 'dense source' : row.role === 'train' ? 'run' : row.role;
}

/** A short label for an axis value inside a series name (`from step 40`, `retrain λ 0`). */
export function axisValueLabel(axis: string, v: AxisValue): string {
  switch (axis) {
    case 'fromStep':
      return v === 'final' ? 'from final' : `from step ${v}`;
    case 'rewindStep':
      return v === 'init' ? 'rewound to θ0' : `rewound to step ${v}`;
    case 'pruningRate':
      return `rate ${v}`;
    case 'retrainWeightDecay':
      return `retrain λ ${v}`;
    case 'weightDecay':
      return `λ ${v}`;
    case 'retrainSteps':
      return `retrain ${v} steps`;
    case 'variant':
    case 'pruner':
    case 'task':
    case 'op':
    case 'model':
    case 'arm':
      return String(v);
    default:
      return `${axis} ${v}`;
  }
}

/**
 * An axis name as a table column or a figure axis heads it (`kind`: the sweep's; λ is the dense run's in a ticket
 * sweep).
 */
export function axisTitle(axis: string, kind = 'ticket'): string {
  const titles: Record<string, string> = {
    pruningRate: 'pruning rate',
    fromStep: 'ticket checkpoint',
    rewindStep: 'rewind point',
    retrainWeightDecay: 'retrain λ',
    retrainSteps: 'retrain steps',
    weightDecay: kind === 'train' ? 'weight decay λ' : 'dense λ',
    trainFraction: 'train fraction',
  };
  return titles[axis] ?? axis;
}

/** The series (line, colour) a row belongs to: its arm label and its own values of `axes`, joined by ` · `. */
function seriesName(sweep: ReportSweep, row: SweepResultRow, axes: readonly string[]): string {
  const own = ownAxisValues(sweep, row);
  const parts = axes
    .filter((a) => a !== 'arm' && own[a] !== null && own[a] !== undefined)
    .map((a) => axisValueLabel(a, own[a]!));
  return row.role === 'train' && parts.length > 0 ? parts.join(' · ') : [armLabel(row), ...parts].join(' · ');
}

/**
 * Median of values where `Infinity` stands for "never" (not reached: later than any step): the
 * middle value, or the mean of the two middle ones (Infinity if either is). Null without values.
 * @example medianOf([100, Infinity, 200]); // 200
 */
export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const finished = (r: SweepResultRow) => r.status === 'finished';
const unique = <T>(xs: T[]) => [...new Set(xs)];

/**
 * Orders groups the way people scan them: arms in order of first appearance in the results, then
 * each axis in its grid order (a run shared across the axis first), then by seed.
 */
function groupOrder(sweep: ReportSweep, axes: readonly string[]) {
  const arms = unique(sweep.rows.map(armLabel));
  const rank = (a: string, v: AxisValue | null) =>
    v === null ? -1 : (sweep.axes.find((x) => x.name === a)?.values.indexOf(v) ?? 0);
  return (
    x: { arm: string; axes: Record<string, AxisValue | null>; seed?: number },
    y: { arm: string; axes: Record<string, AxisValue | null>; seed?: number },
  ) => {
    const byArm = arms.indexOf(x.arm) - arms.indexOf(y.arm);
    if (byArm !== 0) return byArm;
    for (const a of axes) {
      const d = rank(a, x.axes[a] ?? null) - rank(a, y.axes[a] ?? null);
      if (d !== 0) return d;
    }
    return (x.seed ?? 0) - (y.seed ?? 0);
  };
}

/** A band over seeds at one pruning rate: the min, max and mean of the values the seeds reached. */
export interface RateBand {
  series: string;
  rate: number;
  /** Null when no seed has a value at this rate (the line breaks there). */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** The seeds with a value. */
  seeds: number[];
}

/**
 * Seeds of a series that have no value at one x (speed-up: never reached 95 % test accuracy, or the dense arm never
 * did; steps: not reached).
 */
export interface Unreached {
  series: string;
  x: AxisValue;
  reason: string;
  seeds: number[];
  /** Finished runs of the series at this x. */
  of: number;
}

/** One finished run's value at one x. */
export interface SeedValue {
  series: string;
  x: AxisValue;
  seed: number;
  value: number;
}

/** What a figure against the pruning rate draws. */
export interface RateBands {
  /** Series in order of first appearance. */
  series: string[];
  rates: number[];
  bands: RateBand[];
  values: SeedValue[];
  unreached: Unreached[];
  /** Runs of these arms that did not finish (not drawn). */
  unfinished: number;
}

/** Every (row, x) once: a run serving several points with the same x is counted once. */
function placed(
  sweep: ReportSweep,
  rows: readonly SweepResultRow[],
  xOf: (p: SweepPointValues) => AxisValue,
): Array<{ row: SweepResultRow; x: AxisValue }> {
  const out: Array<{ row: SweepResultRow; x: AxisValue }> = [];
  for (const row of rows) for (const x of unique(pointsOf(sweep, row).map(xOf))) out.push({ row, x });
  return out;
}

/**
 * A value of every finished arm against the pruning rate, one series per arm and every other varied
 * axis (pruner, variant, checkpoint, ...), banded over seeds: min, max and mean of the seeds that
 * have a value. A run shared across rates (the mask-free dense arm) is placed at every rate it
 * serves. For `speedupVsDense`, seeds without one are listed in `unreached` with the reason ("not
 * reached": the arm never reached 95 % test accuracy; "dense not reached": its dense arm never did).
 */
export function rateBands(sweep: ReportSweep, value: 'speedupVsDense' | 'finalTestAcc'): RateBands {
  const arms = sweep.rows.filter((r) => r.role === 'arm');
  const seriesAxes = variedAxes(sweep).filter((a) => a !== 'pruningRate' && a !== 'arm');
  const items = placed(sweep, arms, (p) => p.axes.pruningRate!).map(({ row, x }) => ({
    row,
    rate: Number(x),
    series: seriesName(sweep, row, seriesAxes),
  }));
  const series = unique(items.map((i) => i.series));
  const rates = unique(sweep.points.map((p) => Number(p.axes.pruningRate))).sort((a, b) => a - b);
  const bands: RateBand[] = [];
  const values: SeedValue[] = [];
  const unreached: Unreached[] = [];
  // Why a finished run has no value.
  const why = (r: SweepResultRow) =>
    value !== 'speedupVsDense'
      ? 'no final accuracy'
      : r.stepsToTest95 === null
        ? 'not reached'
        : r.denseStepsToTest95 === null
          ? 'dense not reached'
          : 'reached at step 0';
  for (const s of series) {
    for (const rate of rates) {
      const here = items.filter((i) => i.series === s && i.rate === rate && finished(i.row)).map((i) => i.row);
      if (here.length === 0 && !items.some((i) => i.series === s && i.rate === rate)) continue;
      const have = here.filter((r) => r[value] !== null);
      const v = have.map((r) => r[value]!);
      for (const r of have) values.push({ series: s, x: rate, seed: r.seed, value: r[value]! });
      bands.push({
        series: s,
        rate,
        min: v.length ? Math.min(...v) : null,
        max: v.length ? Math.max(...v) : null,
        mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null,
        seeds: have.map((r) => r.seed),
      });
      const missing = here.filter((r) => r[value] === null);
      for (const reason of unique(missing.map(why)))
        unreached.push({
          series: s,
          x: rate,
          reason,
          seeds: missing.filter((r) => why(r) === reason).map((r) => r.seed),
          of: here.length,
        });
    }
  }
  return { series, rates, bands, values, unreached, unfinished: arms.filter((r) => !finished(r)).length };
}

/** What the steps-to-generalise figure draws. */
export interface StepsByCondition {
  series: string[];
  /** The axes that make the x categories (pruning rate, checkpoint, ...; none: one category per series). */
  xAxes: string[];
  /** x categories in grid order. */
  xs: string[];
  /** Steps to 95 % test accuracy of every finished run that reached it. */
  values: SeedValue[];
  /** Median over the finished seeds, not reached counting as later than any step: null when it is "not reached". */
  medians: Array<{ series: string; x: string; median: number | null; of: number }>;
  unreached: Unreached[];
  unfinished: number;
}

/** The rows without a dense source run that is itself the dense arm (the same folder): counted once, as the arm. */
function withoutDenseSourceTwins(rows: readonly SweepResultRow[]): SweepResultRow[] {
  const armDirs = new Set(rows.filter((r) => r.role === 'arm').map((r) => r.dir));
  return rows.filter((r) => r.role !== 'dense-source' || !armDirs.has(r.dir));
}

/**
 * Steps to 95 % test accuracy of every finished run per arm (and pruner and variant when the sweep
 * varies them), per value of the other varied axes (pruning rate, the checkpoint the ticket is
 * pruned from, ...): a value per seed, the median over seeds (not reached counting as later than any
 * step) and the seeds that never reached it. The dense source run is included unless it is itself
 * the dense arm (the same folder).
 */
export function stepsToGeneralise(sweep: ReportSweep): StepsByCondition {
  const varied = variedAxes(sweep);
  const seriesAxes = varied.filter((a) => a === 'pruner' || a === 'variant');
  const xAxes = varied.filter((a) => a !== 'arm' && a !== 'pruner' && a !== 'variant');
  const rows = withoutDenseSourceTwins(sweep.rows);
  const xOf = (p: SweepPointValues) => xAxes.map((a) => String(p.axes[a])).join(' · ');
  const items = placed(sweep, rows, xOf).map(({ row, x }) => ({
    row,
    x: String(x),
    series: seriesName(sweep, row, seriesAxes),
  }));
  const series = unique(items.map((i) => i.series));
  const xs = unique(sweep.points.map(xOf));
  const values: SeedValue[] = [];
  const medians: StepsByCondition['medians'] = [];
  const unreached: Unreached[] = [];
  for (const s of series) {
    for (const x of xs) {
      const here = items.filter((i) => i.series === s && i.x === x && finished(i.row)).map((i) => i.row);
      if (here.length === 0) continue;
      for (const r of here)
        if (r.stepsToTest95 !== null) values.push({ series: s, x, seed: r.seed, value: r.stepsToTest95 });
      const m = medianOf(here.map((r) => r.stepsToTest95 ?? Infinity));
      medians.push({ series: s, x, median: m === null || !Number.isFinite(m) ? null : m, of: here.length });
      const never = here.filter((r) => r.stepsToTest95 === null);
      if (never.length)
        unreached.push({ series: s, x, reason: 'not reached', seeds: never.map((r) => r.seed), of: here.length });
    }
  }
  return { series, xAxes, xs, values, medians, unreached, unfinished: rows.filter((r) => !finished(r)).length };
}

/** A summary line of a sweep: one point group (arm × the other varied axes), over its seeds. */
export interface SweepGroup {
  arm: string;
  /** Own values of the varied axes but `arm` (null: the group's runs are shared across that axis). */
  axes: Record<string, AxisValue | null>;
  seeds: number[];
  finished: number;
  failed: number;
  /** Interrupted or pending. */
  unfinished: number;
  /**
   * Steps to 95 % test accuracy: median over finished runs (Infinity: not reached by the median run), min and max of
   * those that reached it, and how many did.
   */
  stepsMedian: number | null;
  stepsMin: number | null;
  stepsMax: number | null;
  reached: number;
  /** Speed-up over dense: median, min and max over the finished runs that have one. */
  speedupMedian: number | null;
  speedupMin: number | null;
  speedupMax: number | null;
  speedups: number;
  /** Final test accuracy: median, min and max over finished runs. */
  accMedian: number | null;
  accMin: number | null;
  accMax: number | null;
  /** One-line errors of the failed runs. */
  errors: string[];
}

/**
 * One line per point group of a sweep (arm × pruning rate × variant × checkpoint ... as the sweep
 * varies them; arms in order of appearance, then each axis in grid order), every row counted once: how many runs
 * finished, failed or did not run, and the
 * median and range over seeds of the steps to 95 % test accuracy, the speed-up over dense and the
 * final test accuracy. A run shared across an axis (the mask-free dense arm across pruning rates)
 * makes one group with that axis null.
 */
export function sweepGroups(sweep: ReportSweep): SweepGroup[] {
  const axes = variedAxes(sweep).filter((a) => a !== 'arm');
  const groups = new Map<string, { arm: string; axes: Record<string, AxisValue | null>; rows: SweepResultRow[] }>();
  for (const row of withoutDenseSourceTwins(sweep.rows)) {
    const own = ownAxisValues(sweep, row);
    const values = Object.fromEntries(axes.map((a) => [a, own[a] ?? null]));
    const arm = armLabel(row);
    const key = JSON.stringify([arm, ...axes.map((a) => values[a])]);
    const g = groups.get(key) ?? { arm, axes: values, rows: [] };
    g.rows.push(row);
    groups.set(key, g);
  }
  const range = (xs: number[]): [number | null, number | null] =>
    xs.length ? [Math.min(...xs), Math.max(...xs)] : [null, null];
  return [...groups.values()].sort(groupOrder(sweep, axes)).map(({ arm, axes: values, rows }) => {
    const done = rows.filter(finished);
    const reached = done.filter((r) => r.stepsToTest95 !== null).map((r) => r.stepsToTest95!);
    const speedups = done.filter((r) => r.speedupVsDense !== null).map((r) => r.speedupVsDense!);
    const accs = done.filter((r) => r.finalTestAcc !== null).map((r) => r.finalTestAcc!);
    const [stepsMin, stepsMax] = range(reached);
    const [speedupMin, speedupMax] = range(speedups);
    const [accMin, accMax] = range(accs);
    return {
      arm,
      axes: values,
      seeds: unique(rows.map((r) => r.seed)),
      finished: done.length,
      failed: rows.filter((r) => r.status === 'failed').length,
      unfinished: rows.filter((r) => r.status !== 'finished' && r.status !== 'failed').length,
      stepsMedian: medianOf(done.map((r) => r.stepsToTest95 ?? Infinity)),
      stepsMin,
      stepsMax,
      reached: reached.length,
      speedupMedian: medianOf(speedups),
      speedupMin,
      speedupMax,
      speedups: speedups.length,
      accMedian: medianOf(accs),
      accMin,
      accMax,
      errors: unique(rows.filter((r) => r.status === 'failed' && r.error).map((r) => r.error!)),
    };
  });
}

/** The critical pruning rate of one seed of one arm. */
export interface CriticalRate {
  arm: string;
  /** Own values of the varied axes other than `arm` and `pruningRate`. */
  axes: Record<string, AxisValue | null>;
  seed: number;
  /** r*: the smallest rate whose run reached 95 % test accuracy within its steps; null if none did. */
  rate: number | null;
  /** Rates whose run reached it, ascending. */
  reached: number[];
  /** Rates planned for this seed, and those whose run finished. */
  rates: number[];
  finished: number[];
  /** Rates below r* (all rates when there is none) whose run did not finish: r* may be lower. */
  unknownBelow: number[];
}

/**
 * The critical pruning rate r* per seed (spec E3): for each arm with a pruning rate (every arm but
 * the mask-free `dense`) and each seed, the smallest rate whose run reaches 95 % test accuracy within
 * the run; none if none. Rates whose run has not finished are listed when they could lower r*.
 */
export function criticalRates(sweep: ReportSweep): CriticalRate[] {
  const axes = variedAxes(sweep).filter((a) => a !== 'arm' && a !== 'pruningRate');
  const groups = new Map<
    string,
    {
      arm: string;
      axes: Record<string, AxisValue | null>;
      seed: number;
      rows: Array<{ row: SweepResultRow; rate: number }>;
    }
  >();
  for (const row of sweep.rows) {
    if (row.role !== 'arm' || row.arm === 'dense') continue;
    const own = ownAxisValues(sweep, row);
    const rate = 'pruningRate' in own ? own.pruningRate : row.pruningRate;
    if (rate === null || rate === undefined) continue;
    const values = Object.fromEntries(axes.map((a) => [a, own[a] ?? null]));
    const key = JSON.stringify([row.arm, row.seed, ...axes.map((a) => values[a])]);
    const g = groups.get(key) ?? { arm: armLabel(row), axes: values, seed: row.seed, rows: [] };
    g.rows.push({ row, rate: Number(rate) });
    groups.set(key, g);
  }
  const asc = (xs: number[]) => unique(xs).sort((a, b) => a - b);
  return [...groups.values()].sort(groupOrder(sweep, axes)).map(({ arm, axes: values, seed, rows }) => {
    const done = rows.filter((r) => finished(r.row));
    const reached = asc(done.filter((r) => r.row.stepsToTest95 !== null).map((r) => r.rate));
    const rate = reached[0] ?? null;
    const finishedRates = asc(done.map((r) => r.rate));
    return {
      arm,
      axes: values,
      seed,
      rate,
      reached,
      rates: asc(rows.map((r) => r.rate)),
      finished: finishedRates,
      unknownBelow: asc(rows.filter((r) => !finished(r.row) && (rate === null || r.rate < rate)).map((r) => r.rate)),
    };
  });
}
