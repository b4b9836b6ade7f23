import path from 'node:path';
import {
  maskOverlap,
  maskStats,
  sameNormScales,
  type KeptCount,
  type TensorOverlap,
} from '@grokking-tickets/grokking-metrics';
import type { MaskResult, Pruner } from '@grokking-tickets/pruners';
import { RunStore, saveCheckpoint, type StoredTensor } from '@grokking-tickets/run-store';
import type { RunSummary } from '@grokking-tickets/training';
import { ExperimentError, type DenseSource } from './dense.js';
import type { JobOutcome } from './jobs.js';
import { armContext } from './ticket.js';
import type { NormDefinition, TicketConfig } from './ticketConfig.js';

/** One arm's line in ticket-summary.json. */
export interface ArmResult {
  arm: string;
  dir: string;
  status: JobOutcome['status'];
  /** First evaluated step with test accuracy >= 0.95 (null: not reached). */
  stepsToTest95: number | null;
  stepsToTrain95: number | null;
  /** Dense steps-to-95% divided by this arm's (null when either did not reach it). */
  speedupVsDense: number | null;
  finalTrainAcc: number;
  finalTestAcc: number;
  /** Global norms of the effective weights at the start and the end of training. */
  initialL1: number;
  initialL2: number;
  finalL1: number;
  finalL2: number;
  keptWeights: number;
  totalWeights: number;
  /** Scale applied to θ0 (same-norm controls). */
  alpha?: number;
}

/** What `ticket-summary.json` holds. */
export interface TicketSummary {
  config: TicketConfig;
  denseDir: string;
  scoredCheckpoint: string;
  keepFraction: number;
  pruningRate: number;
  kept: number;
  total: number;
  perTensor: Record<string, { kept: number; total: number }>;
  alphaL1: number;
  alphaL2: number;
  normDefinition: NormDefinition;
  arms: ArmResult[];
  /** Mask statistics of every masked arm's mask (read from the arm's `init` checkpoint), by arm. */
  maskStats: Record<string, KeptCount & { perTensor: Record<string, KeptCount> }>;
  /**
   * The overlap of the kept weights of every pair of masked arms (in arm order): Jaccard
   * J = |a ∧ b| / |a ∨ b|, over all tensors and per tensor.
   */
  maskOverlap: ArmMaskOverlap[];
}

/** The overlap of two masked arms' masks (see `maskOverlap` in @grokking-tickets/grokking-metrics). */
export interface ArmMaskOverlap extends TensorOverlap {
  a: string;
  b: string;
  perTensor: Record<string, TensorOverlap>;
}

/**
 * The ticket mask of an experiment, saved as `<dir>/masks/ticket.safetensors` (an artefact for
 * people and tools; each arm recomputes what it needs), with the same-norm scales of the summary.
 */
export async function saveTicketMask(
  dir: string,
  config: TicketConfig,
  dense: DenseSource,
  pruner: Pruner,
): Promise<{ mask: MaskResult; alphaL1: number; alphaL2: number }> {
  const ticketMask = await armContext(config, dense, pruner).ticketMask();
  const shapes = Object.fromEntries(dense.model.params.map((p) => [p.name, p.shape]));
  const maskTensors: Record<string, StoredTensor> = {};
  for (const [k, m] of Object.entries(ticketMask.masks))
    maskTensors[`mask/${k}`] = { dtype: 'F32', shape: shapes[k]!, data: m };
  await saveCheckpoint(path.join(dir, 'masks', 'ticket.safetensors'), {
    tensors: maskTensors,
    meta: {
      pruner: pruner.name,
      fromStep: config.fromStep,
      pruningRate: config.pruningRate,
      kept: ticketMask.kept,
      total: ticketMask.total,
      denseConfigHash: dense.configHash,
    },
  });
  const scales = sameNormScales(
    dense.rewind,
    ticketMask.masks,
    dense.model.params.map((p) => p.name),
    config.normDefinition,
  );
  return { mask: ticketMask, alphaL1: scales.alphaL1, alphaL2: scales.alphaL2 };
}

/**
 * Builds `ticket-summary.json` from the arms' outcomes (in `config.arms` order) and run folders.
 * Speed-ups are against the dense arm when it ran, else against the dense source run.
 */
export async function buildTicketSummary(
  config: TicketConfig,
  denseDir: string,
  dense: DenseSource,
  ticket: { mask: MaskResult; alphaL1: number; alphaL2: number },
  outcomes: ReadonlyMap<string, JobOutcome>,
): Promise<TicketSummary> {
  const denseOutcome = outcomes.get('dense');
  const denseT = (denseOutcome?.summary ?? dense.summary).stepsTo.test_acc_0_95;
  const arms: ArmResult[] = config.arms.map((arm) => armResult(arm, outcomes.get(arm)!, denseT));
  return {
    config,
    denseDir,
    scoredCheckpoint: dense.scoredCheckpoint,
    keepFraction: 1 - config.pruningRate,
    pruningRate: config.pruningRate,
    kept: ticket.mask.kept,
    total: ticket.mask.total,
    perTensor: ticket.mask.perTensor,
    alphaL1: ticket.alphaL1,
    alphaL2: ticket.alphaL2,
    normDefinition: config.normDefinition,
    arms,
    ...(await armMasks(arms)),
  };
}

/**
 * The masks the arms actually trained with, read from each arm's verified `init` checkpoint (arms
 * without masks, the dense ones, are left out): their statistics, and the Jaccard overlap of every pair.
 */
async function armMasks(arms: ArmResult[]): Promise<Pick<TicketSummary, 'maskStats' | 'maskOverlap'>> {
  const masks: Array<[string, Record<string, Float32Array>]> = [];
  for (const a of arms) {
    const store = new RunStore(a.dir);
    const record = store.readRecord();
    const shapes = Object.fromEntries(
      ((record.parameters ?? []) as Array<{ name: string; shape: number[] }>).map((p) => [p.name, p.shape]),
    );
    const init = await store.loadWeights('init', { configHash: record.configHash, shapes });
    if (Object.keys(init.masks).length > 0) masks.push([a.arm, init.masks]);
  }
  const maskOverlaps: ArmMaskOverlap[] = [];
  for (let i = 0; i < masks.length; i++) {
    for (let j = i + 1; j < masks.length; j++)
      maskOverlaps.push({ a: masks[i]![0], b: masks[j]![0], ...maskOverlap(masks[i]![1], masks[j]![1]) });
  }
  return { maskStats: Object.fromEntries(masks.map(([arm, m]) => [arm, maskStats(m)])), maskOverlap: maskOverlaps };
}

/** One arm's summary line from its run folder. */
function armResult(arm: string, outcome: JobOutcome, denseT: number | null): ArmResult {
  const store = new RunStore(outcome.dir);
  const summary = outcome.summary ?? store.readJson<RunSummary>('summary.json');
  const rows = store.readMetrics<{ step: number; l1_global: number; l2_global: number }>();
  if (rows.length === 0) throw new ExperimentError(`${store.file('metrics.jsonl')} holds no rows`);
  const record = store.readRecord();
  const all = ((record.parameters ?? []) as Array<{ shape: number[] }>).reduce(
    (n, p) => n + p.shape.reduce((a, b) => a * b, 1),
    0,
  );
  const provenance = (record.provenance ?? {}) as { kept?: number; total?: number; alpha?: number };
  const t = summary.stepsTo.test_acc_0_95;
  return {
    arm,
    dir: outcome.dir,
    status: outcome.status,
    stepsToTest95: t,
    stepsToTrain95: summary.stepsTo.train_acc_0_95,
    speedupVsDense: t !== null && denseT !== null && t > 0 ? denseT / t : null,
    finalTrainAcc: summary.final.train_acc,
    finalTestAcc: summary.final.test_acc,
    initialL1: rows[0]!.l1_global,
    initialL2: rows[0]!.l2_global,
    finalL1: summary.final.l1_global,
    finalL2: summary.final.l2_global,
    keptWeights: provenance.kept ?? all,
    totalWeights: provenance.total ?? all,
    ...(provenance.alpha !== undefined ? { alpha: provenance.alpha } : {}),
  };
}
