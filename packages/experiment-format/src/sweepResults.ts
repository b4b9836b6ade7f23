/** How a run of a sweep stands. */
export type SweepRunStatus = 'finished' | 'failed' | 'interrupted' | 'pending';

/** What a run is in a sweep: a plain training run, the dense run tickets are pruned from, or an arm. */
export type SweepRunRole = 'train' | 'dense-source' | 'arm';

/**
 * One row of `sweep-results.jsonl` / `sweep-results.csv`: one run, its settings and its summary
 * metrics. Settings that do not apply (ticket fields of a plain run) and metrics of a run that has
 * not finished are null (empty in the CSV).
 */
export interface SweepRow {
  /** Run id: the config hash (train, dense-source) or `<experiment identity>-<arm>`. */
  runId: string;
  role: SweepRunRole;
  /** The arm (role arm), else null. */
  arm: string | null;
  status: SweepRunStatus;
  /** One-line error of a failed run. */
  error: string | null;
  /** Indexes of the grid points the run belongs to (a dense run usually serves several). */
  points: number[];
  /** The values of the sweep's axes at the run's first point (variants by name). */
  axes: Record<string, unknown>;
  variant: string | null;
  task: string;
  op: string | null;
  p: number | null;
  trainFraction: number | null;
  model: string;
  seed: number;
  /** Steps of this run (the retraining steps for an arm). */
  steps: number;
  /** Weight decay λ of the dense run (of the run itself for role train). */
  weightDecay: number;
  lr: number;
  pruner: string | null;
  pruningRate: number | null;
  fromStep: number | 'final' | null;
  rewindStep: number | 'init' | null;
  /** Weight decay λ this arm was retrained with. */
  retrainWeightDecay: number | null;
  stepsToTrain95: number | null;
  stepsToTrain99: number | null;
  /**
   * First evaluated steps at 50 % and 90 % test accuracy: where 95 % is out of reach (the MNIST MLP
   * with 1000 training images levels off near 92 %), these date the rise of the test curve.
   */
  stepsToTest50: number | null;
  stepsToTest90: number | null;
  stepsToTest95: number | null;
  stepsToTest99: number | null;
  stepsToTest100: number | null;
  /**
   * Steps to 95 % test accuracy of the reference dense run: the experiment's dense arm if it ran, else its dense source
   * run.
   */
  denseStepsToTest95: number | null;
  /** denseStepsToTest95 / stepsToTest95 (null when either is not reached). */
  speedupVsDense: number | null;
  finalTrainAcc: number | null;
  finalTestAcc: number | null;
  /** The highest test accuracy of any evaluation (a run that rose and stalled, or fell back). */
  bestTestAcc: number | null;
  finalTrainLoss: number | null;
  finalTestLoss: number | null;
  /** Global L1 / L2 norms of the effective weights at the first and the last evaluation. */
  initialL1: number | null;
  initialL2: number | null;
  finalL1: number | null;
  finalL2: number | null;
  keptWeights: number | null;
  totalWeights: number | null;
  /** keptWeights / totalWeights. */
  keptFraction: number | null;
  /** Scale applied to θ0 (same-norm controls). */
  alpha: number | null;
  evalEvery: number;
  wallTimeSec: number | null;
  msPerStep: number | null;
  backend: string | null;
  /** The run folder, relative to the sweep folder. */
  dir: string;
}

/** The CSV columns, in order (`axes` and `points` are JSONL-only; `points` is `;`-joined in the CSV). */
export const SWEEP_CSV_COLUMNS = [
  'runId',
  'role',
  'arm',
  'status',
  'error',
  'points',
  'variant',
  'task',
  'op',
  'p',
  'trainFraction',
  'model',
  'seed',
  'steps',
  'weightDecay',
  'lr',
  'pruner',
  'pruningRate',
  'fromStep',
  'rewindStep',
  'retrainWeightDecay',
  'stepsToTrain95',
  'stepsToTrain99',
  'stepsToTest50',
  'stepsToTest90',
  'stepsToTest95',
  'stepsToTest99',
  'stepsToTest100',
  'denseStepsToTest95',
  'speedupVsDense',
  'finalTrainAcc',
  'finalTestAcc',
  'bestTestAcc',
  'finalTrainLoss',
  'finalTestLoss',
  'initialL1',
  'initialL2',
  'finalL1',
  'finalL2',
  'keptWeights',
  'totalWeights',
  'keptFraction',
  'alpha',
  'evalEvery',
  'wallTimeSec',
  'msPerStep',
  'backend',
  'dir',
] as const satisfies ReadonlyArray<keyof SweepRow>;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(';') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows as CSV (RFC 4180: a header line, fields with commas, quotes or newlines quoted). */
export function sweepRowsToCsv(rows: readonly SweepRow[]): string {
  return (
    [SWEEP_CSV_COLUMNS.join(','), ...rows.map((r) => SWEEP_CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))].join(
      '\n',
    ) + '\n'
  );
}

/** The rows as JSON lines. */
export function sweepRowsToJsonl(rows: readonly SweepRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
