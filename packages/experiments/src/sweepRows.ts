import path from 'node:path';
import type { SweepRow, SweepRunStatus } from '@grokking-tickets/experiment-format';
import { stepsToGeneralize } from '@grokking-tickets/grokking-metrics';
import { RunStore } from '@grokking-tickets/run-store';
import type { RunSummary, TrainConfig } from '@grokking-tickets/training';
import type { JobOutcome } from './jobs.js';
import type { PlannedExperiment, SweepPlan, SweepVariant } from './sweepSpec.js';

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
