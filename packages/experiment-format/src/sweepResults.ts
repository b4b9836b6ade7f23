import path from 'node:path';
import { stepsToGeneralize } from '@grokking-tickets/grokking-metrics';
import { RunStore } from '@grokking-tickets/run-store';
import type { RunSummary, TrainConfig } from '@grokking-tickets/training';
import type { JobOutcome } from './executors.js';
import type { PlannedExperiment, PlannedRun, SweepPlan, SweepVariant } from './sweepSpec.js';

/** How a run of a sweep stands. */
export type SweepRunStatus = 'finished' | 'failed' | 'interrupted' | 'pending';

/**
 * One row of `sweep-results.jsonl` / `sweep-results.csv`: one run, its settings and its summary
 * metrics. Settings that do not apply (ticket fields of a plain run) and metrics of a run that has
 * not finished are null (empty in the CSV).
 */
export interface SweepRow {
  /** Run id: the config hash (train, dense-source) or `<experiment identity>-<arm>`. */
  runId: string;
  role: PlannedRun['role'];
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

/** What is known about a run's outcome. */
export interface RunState {
  status: SweepRunStatus;
  error?: string;
  /** Where the run's results are (an arm reused as the dense run points there). */
  dir: string;
}

/** The status of a sweep run from an executor's outcome. */
export function statusOf(outcome: JobOutcome): SweepRunStatus {
  return outcome.status === 'failed' ? 'failed' : outcome.status === 'interrupted' ? 'interrupted' : 'finished';
}

interface Measured {
  summary: RunSummary;
  stepsToTest50: number | null;
  stepsToTest90: number | null;
  bestTestAcc: number | null;
  initialL1: number | null;
  initialL2: number | null;
  kept: number | null;
  total: number | null;
  alpha: number | null;
}

/** Reads a finished run's summary, first metrics row and provenance. */
function measure(dir: string): Measured {
  const store = new RunStore(dir);
  const summary = store.readJson<RunSummary>('summary.json');
  const rows = store.readMetrics<{ step: number; test_acc: number; l1_global?: number; l2_global?: number }>();
  const first = rows[0];
  const record = store.readRecord();
  const all = ((record.parameters ?? []) as Array<{ shape: number[] }>).reduce(
    (n, p) => n + p.shape.reduce((a, b) => a * b, 1),
    0,
  );
  const prov = (record.provenance ?? {}) as { kept?: number; total?: number; alpha?: number };
  return {
    summary,
    stepsToTest50: stepsToGeneralize(rows, 0.5),
    stepsToTest90: stepsToGeneralize(rows, 0.9),
    bestTestAcc: rows.length ? rows.reduce((m, r) => Math.max(m, r.test_acc), -Infinity) : null,
    initialL1: first?.l1_global ?? null,
    initialL2: first?.l2_global ?? null,
    kept: prov.kept ?? all,
    total: prov.total ?? all,
    alpha: prov.alpha ?? null,
  };
}

/**
 * Builds the rows of a sweep from its plan and the state of each run: one row per run, settings
 * from the resolved configs, metrics read from finished run folders (so a row is the same whichever
 * executor or machine trained the run). Speed-ups are against the experiment's dense arm when it is
 * in the sweep and finished, else against its dense source run (the rule of `ticket-summary.json`).
 */
export function buildSweepRows(plan: SweepPlan, states: ReadonlyMap<string, RunState>, sweepDir: string): SweepRow[] {
  const cache = new Map<string, Measured | null>();
  const measured = (id: string): Measured | null => {
    const s = states.get(id);
    if (!s || s.status !== 'finished') return null;
    if (!cache.has(id)) cache.set(id, measure(s.dir));
    return cache.get(id)!;
  };
  const experiments = new Map<string, PlannedExperiment>(plan.experiments.map((e) => [e.identity, e]));
  return plan.runs.map((run): SweepRow => {
    const state = states.get(run.id) ?? { status: 'pending' as const, dir: '' };
    const exp = run.experiment ? experiments.get(run.experiment)! : undefined;
    const config: TrainConfig = exp ? exp.config.dense : run.config!;
    const m = measured(run.id);
    const first = plan.points[run.points[0]!]!;
    const variant = first.axes.variant as SweepVariant | undefined;
    let denseT: number | null = null;
    if (exp) {
      const denseArm = exp.denseArm ? measured(exp.denseArm) : null;
      const source = measured(exp.denseRun);
      denseT = (denseArm ?? source)?.summary.stepsTo.test_acc_0_95 ?? null;
    }
    const t = m?.summary.stepsTo.test_acc_0_95 ?? null;
    const retrainWd = exp ? (exp.config.retrain.weightDecay ?? config.optimizer.weightDecay) : null;
    // A mask-free dense arm is shared by every rate, pruner and checkpoint: those do not apply to it.
    const maskFree = run.role === 'arm' && run.config !== undefined;
    const ticket = maskFree ? undefined : exp;
    return {
      runId: run.id,
      role: run.role,
      arm: run.arm ?? null,
      status: state.status,
      error: state.error ?? null,
      points: run.points,
      axes: Object.fromEntries(
        Object.entries(first.axes).map(([k, v]) => [k, k === 'variant' ? (v as SweepVariant).name : v]),
      ),
      variant: variant?.name ?? null,
      task: String(config.task.name),
      op: config.task.op !== undefined ? String(config.task.op) : null,
      p: config.task.p !== undefined ? Number(config.task.p) : null,
      trainFraction: config.task.trainFraction !== undefined ? Number(config.task.trainFraction) : null,
      model: config.model.kind,
      seed: config.seed,
      steps: exp ? (exp.config.retrain.steps ?? config.steps) : config.steps,
      weightDecay: config.optimizer.weightDecay,
      lr: config.optimizer.lr,
      pruner: ticket?.config.pruner ?? null,
      pruningRate: ticket?.config.pruningRate ?? null,
      fromStep: ticket?.config.fromStep ?? null,
      rewindStep: ticket?.config.rewindStep ?? null,
      retrainWeightDecay: retrainWd,
      stepsToTrain95: m?.summary.stepsTo.train_acc_0_95 ?? null,
      stepsToTrain99: m?.summary.stepsTo.train_acc_0_99 ?? null,
      stepsToTest50: m?.stepsToTest50 ?? null,
      stepsToTest90: m?.stepsToTest90 ?? null,
      stepsToTest95: t,
      stepsToTest99: m?.summary.stepsTo.test_acc_0_99 ?? null,
      stepsToTest100: m?.summary.stepsTo.test_acc_1_0 ?? null,
      denseStepsToTest95: denseT,
      speedupVsDense: t !== null && denseT !== null && t > 0 ? denseT / t : null,
      finalTrainAcc: m?.summary.final.train_acc ?? null,
      finalTestAcc: m?.summary.final.test_acc ?? null,
      bestTestAcc: m?.bestTestAcc ?? null,
      finalTrainLoss: m?.summary.final.train_loss ?? null,
      finalTestLoss: m?.summary.final.test_loss ?? null,
      initialL1: m?.initialL1 ?? null,
      initialL2: m?.initialL2 ?? null,
      finalL1: m?.summary.final.l1_global ?? null,
      finalL2: m?.summary.final.l2_global ?? null,
      keptWeights: m?.kept ?? null,
      totalWeights: m?.total ?? null,
      keptFraction: m && m.kept !== null && m.total ? m.kept / m.total : null,
      alpha: m?.alpha ?? null,
      evalEvery: exp ? (exp.config.retrain.evalEvery ?? config.evalEvery) : config.evalEvery,
      wallTimeSec: m?.summary.wallTimeSec ?? null,
      msPerStep: m?.summary.msPerStep ?? null,
      backend: m?.summary.backend ?? null,
      dir: state.dir ? path.relative(sweepDir, state.dir) || '.' : '',
    };
  });
}

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
