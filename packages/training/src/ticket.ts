import fs from 'node:fs';
import { initBackend } from '@grokking-tickets/backend';
import path from 'node:path';
import { buildMask, getPruner, loadPruner, type MaskOptions, type Pruner } from '@grokking-tickets/pruners';
import { createModel, denseMasks, saveCheckpoint, type GrokModel, type NamedArrays, type StoredTensor } from '@grokking-tickets/models';
import { configHash, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { runTraining, type RunMode, type RunResult, type TrainEvent } from './run.js';
import { RunFolderError, RunStore } from './runStore.js';
import type { RunSummary } from './summary.js';
import { getTask } from './tasks.js';

/** The arms of the ticket experiment (spec §6). */
export const TICKET_ARMS = ['ticket', 'dense', 'same-l1', 'same-l2', 'random', 'snip', 'grasp', 'synflow'] as const;
/** One arm: the grokking ticket, a control, or a pruning-at-initialisation baseline. */
export type ArmName = (typeof TICKET_ARMS)[number];

/** How the same-norm controls measure norms (spec §6.2). */
export type NormDefinition = 'global' | 'perTensorSum';

/** Everything that defines a ticket experiment. */
export interface TicketConfig {
  /** The dense run's config (ignored when `denseDir` is given: that run's config is used). */
  dense: TrainConfig;
  /** Reuse this finished dense run folder instead of training one. */
  denseDir: string | null;
  /** Checkpoint whose weights are scored: 'final' or a step (updates done), e.g. 2000 for memorisation. */
  fromStep: number | 'final';
  /** Pruner: a built-in name, an installed package name, or a module path. */
  pruner: string;
  pruningRate: number;
  scope: NonNullable<MaskOptions['scope']>;
  schedule: NonNullable<MaskOptions['schedule']>;
  rounds: number;
  invert: boolean;
  shuffle: boolean;
  /** Rewind the ticket to θ0 ('init') or to the weights after r updates. */
  rewindStep: number | 'init';
  arms: ArmName[];
  /** Parameters to prune (null: every prunable weight matrix, embeddings included, as the reference). */
  prunable: string[] | null;
  /** Overrides for every retrained arm (default: the dense run's values). */
  retrain: { weightDecay?: number; steps?: number; evalEvery?: number };
  normDefinition: NormDefinition;
}

/** A ticket config as users write it. */
export type TicketConfigInput = Partial<Omit<TicketConfig, 'dense'>> & { dense?: TrainConfigInput };

/** Thrown for an invalid ticket experiment; one line. */
export class TicketError extends Error {
  override name = 'TicketError';
}

/** Fills defaults (Mag, global, one-shot, pruning rate 0.6, rewind to θ0, arms ticket + dense) and validates. */
export function resolveTicketConfig(input: TicketConfigInput = {}): TicketConfig {
  const arms = input.arms ?? ['ticket', 'dense'];
  for (const a of arms) if (!(TICKET_ARMS as readonly string[]).includes(a)) throw new TicketError(`unknown arm "${a}" (arms: ${TICKET_ARMS.join(', ')})`);
  if (arms.length === 0) throw new TicketError('no arms to run');
  const pruningRate = input.pruningRate ?? 0.6;
  if (typeof pruningRate !== 'number' || !(pruningRate >= 0 && pruningRate < 1)) throw new TicketError(`pruning rate must be in [0, 1), got ${pruningRate}`);
  const rounds = input.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) throw new TicketError(`rounds must be a positive integer, got ${rounds}`);
  const step = (name: string, v: unknown, word: string) => {
    if (v === word) return v;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TicketError(`${name} must be "${word}" or a step number, got ${JSON.stringify(v)}`);
    return v;
  };
  const scope = input.scope ?? 'global';
  if (scope !== 'global' && scope !== 'local') throw new TicketError(`scope must be global or local, got ${JSON.stringify(scope)}`);
  const schedule = input.schedule ?? 'one-shot';
  if (!['one-shot', 'linear', 'exponential'].includes(schedule)) throw new TicketError(`schedule must be one-shot, linear or exponential, got ${JSON.stringify(schedule)}`);
  const normDefinition = input.normDefinition ?? 'global';
  if (normDefinition !== 'global' && normDefinition !== 'perTensorSum') throw new TicketError(`norm definition must be global or perTensorSum, got ${JSON.stringify(normDefinition)}`);
  const retrain = { ...input.retrain };
  if (retrain.weightDecay !== undefined && !(retrain.weightDecay >= 0)) throw new TicketError(`retrain weight decay must be >= 0, got ${retrain.weightDecay}`);
  if (retrain.steps !== undefined && !(Number.isInteger(retrain.steps) && retrain.steps >= 1)) throw new TicketError(`retrain steps must be a positive integer, got ${retrain.steps}`);
  return {
    dense: resolveTrainConfig(input.dense ?? {}),
    denseDir: input.denseDir ?? null,
    fromStep: step('fromStep', input.fromStep ?? 'final', 'final') as number | 'final',
    pruner: input.pruner ?? 'magnitude',
    pruningRate,
    scope,
    schedule,
    rounds,
    invert: input.invert ?? false,
    shuffle: input.shuffle ?? false,
    rewindStep: step('rewindStep', input.rewindStep ?? 'init', 'init') as number | 'init',
    arms: [...new Set(arms)] as ArmName[],
    prunable: input.prunable ?? null,
    retrain,
    normDefinition,
  };
}

/** L1 and L2 norms of θ ⊙ m over the given parameters, by the chosen definition. */
export function maskedNorms(weights: NamedArrays, masks: NamedArrays | null, names: string[], def: NormDefinition): { l1: number; l2: number } {
  let l1 = 0;
  let l2sq = 0;
  let l2sum = 0;
  for (const name of names) {
    const w = weights[name]!;
    const m = masks?.[name];
    let t1 = 0;
    let t2 = 0;
    for (let i = 0; i < w.length; i++) {
      const x = m ? w[i]! * m[i]! : w[i]!;
      t1 += Math.abs(x);
      t2 += x * x;
    }
    l1 += t1;
    l2sq += t2;
    l2sum += Math.sqrt(t2);
  }
  return { l1, l2: def === 'global' ? Math.sqrt(l2sq) : l2sum };
}

/**
 * The same-norm scales of spec §6.2: α₁ = ‖θ0 ⊙ m‖₁ / ‖θ0‖₁ and α₂ = ‖θ0 ⊙ m‖₂ / ‖θ0‖₂ (global
 * Euclidean norms by default; `perTensorSum` = Σ_l ‖W_l ⊙ M_l‖_F / Σ_l ‖W_l‖_F as the reference's helper).
 */
export function sameNormScales(theta0: NamedArrays, masks: NamedArrays, names: string[], def: NormDefinition): { alphaL1: number; alphaL2: number } {
  const ticket = maskedNorms(theta0, masks, names, def);
  const dense = maskedNorms(theta0, null, names, def);
  return { alphaL1: ticket.l1 / dense.l1, alphaL2: ticket.l2 / dense.l2 };
}

const scale = (w: NamedArrays, a: number): NamedArrays => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((x) => x * a)]));

/** Progress of a ticket experiment: which phase, and training events tagged with the arm. */
export type TicketEvent =
  | { type: 'phase'; message: string }
  | { type: 'train'; arm: ArmName | 'dense-source'; event: TrainEvent };

/** Options of `runTicket`. */
export interface TicketOptions {
  config?: TicketConfigInput;
  /** Parent folder: `ticket.json`, `masks/`, `dense-source/` (unless reused), `arms/<arm>/`, `ticket-summary.json`. */
  dir: string;
  mode?: RunMode;
  /** Run up to this many arms at once in worker threads (default 1: in this thread). */
  jobs?: number;
  signal?: AbortSignal;
  onEvent?: (event: TicketEvent) => void;
  /** Folder that relative pruner paths are resolved from (default: process.cwd()). */
  cwd?: string;
}

/** One arm's line in ticket-summary.json. */
export interface ArmResult {
  arm: ArmName;
  dir: string;
  status: RunResult['status'] | 'reused';
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
}

interface ArmPlan {
  arm: ArmName;
  dir: string;
  config: TrainConfig;
  initialWeights: NamedArrays;
  masks?: NamedArrays;
  provenance: Record<string, unknown>;
  alpha?: number;
  kept: number;
  total: number;
}

function checkpointName(step: number | 'final' | 'init'): string {
  return typeof step === 'number' ? `step-${String(step).padStart(6, '0')}` : step;
}

function availableCheckpoints(store: RunStore): string {
  const dir = store.file('checkpoints');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace('.safetensors', '')).sort().join(', ') : 'none';
}

/**
 * Fields the user set explicitly (task, model, seed) that differ from a reused dense run's config;
 * unset fields are taken from the dense run.
 */
function conflictsWithDense(stored: TrainConfig, given: TrainConfigInput | undefined): string[] {
  if (!given) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(given.task ?? {})) if (v !== undefined && stored.task[k] !== v) out.push(`task.${k} ${JSON.stringify(stored.task[k])} vs ${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(given.model ?? {})) if (v !== undefined && stored.model[k] !== v) out.push(`model.${k} ${JSON.stringify(stored.model[k])} vs ${JSON.stringify(v)}`);
  if (given.seed !== undefined && given.seed !== stored.seed) out.push(`seed ${stored.seed} vs ${given.seed}`);
  return out;
}

async function resolvePruner(spec: string, cwd: string): Promise<Pruner> {
  try {
    return getPruner(spec);
  } catch {
    return loadPruner(spec, cwd);
  }
}

/**
 * The grokking-ticket experiment (spec §6): train (or reuse) a dense run, score the checkpoint at
 * `fromStep` with the pruner, mask at the pruning rate, rewind, and retrain every requested arm —
 * the ticket, the dense baseline, same-L1/L2 dense controls, a random mask, and pruning at
 * initialisation (SNIP, GraSP, SynFlow on θ0) — each in its own resumable run folder.
 */
export async function runTicket(options: TicketOptions): Promise<{ status: 'finished' | 'interrupted'; summary?: TicketSummary }> {
  const mode = options.mode ?? 'new';
  const parent = new RunStore(options.dir);
  const emit = options.onEvent ?? (() => {});
  let config: TicketConfig;
  if (mode === 'resume') {
    if (!fs.existsSync(parent.file('ticket.json'))) throw new RunFolderError(`cannot resume: ${options.dir} holds no ticket experiment (no ticket.json)`);
    config = parent.readJson<{ config: TicketConfig }>('ticket.json').config;
  } else {
    config = resolveTicketConfig(options.config ?? {});
  }
  const pruner = await resolvePruner(config.pruner, options.cwd ?? process.cwd());

  // Reused dense run: must be finished, of the same task, and hold the checkpoints we need.
  let denseDir = config.denseDir ?? path.join(options.dir, 'dense-source');
  if (config.denseDir) {
    const dense = new RunStore(config.denseDir);
    if (!dense.exists()) throw new TicketError(`dense run folder ${config.denseDir} holds no run (no config.json)`);
    if (!dense.isFinished()) throw new TicketError(`dense run ${config.denseDir} is not finished; resume it first`);
    const stored = dense.readJson<{ config: TrainConfig }>('config.json').config;
    const conflicts = mode === 'resume' ? [] : conflictsWithDense(stored, options.config?.dense);
    if (conflicts.length > 0) throw new TicketError(`dense run ${config.denseDir} is for a different task, model or seed (${conflicts.join('; ')})`);
    config = { ...config, dense: stored };
    for (const step of [config.fromStep, config.rewindStep]) {
      const name = checkpointName(step);
      if (!fs.existsSync(dense.file('checkpoints', `${name}.safetensors`))) {
        throw new TicketError(`dense run ${config.denseDir} has no checkpoint "${name}" (available: ${availableCheckpoints(dense)})`);
      }
    }
  }
  if (config.prunable) {
    const known = createModel(config.dense.model.kind, Object.fromEntries(Object.entries(config.dense.model).filter(([k]) => k !== 'kind'))).params.filter((p) => p.prunable).map((p) => p.name);
    const unknown = config.prunable.filter((n) => !known.includes(n));
    if (unknown.length || config.prunable.length === 0) throw new TicketError(`prunable parameters must be among ${known.join(', ')}; got ${config.prunable.join(', ') || 'none'}`);
  }
  if (mode !== 'resume') {
    // --force replaces the whole experiment: stale arms must not be resumed as if they were new.
    if (mode === 'force' && fs.existsSync(parent.file('ticket.json'))) {
      for (const entry of ['ticket.json', 'ticket-summary.json', 'masks', 'arms', 'dense-source']) fs.rmSync(parent.file(entry), { recursive: true, force: true });
    }
    parent.create(mode === 'force');
    parent.writeJson('ticket.json', { config, configHash: configHash(config) });
  }

  // 1. Dense run (train it, adding the checkpoints the ticket needs).
  if (!config.denseDir) {
    const extra = [config.fromStep, config.rewindStep].filter((s): s is number => typeof s === 'number' && s > 0);
    const denseConfig = { ...config.dense, checkpointSteps: [...new Set([...config.dense.checkpointSteps, ...extra])].sort((a, b) => a - b) };
    emit({ type: 'phase', message: `dense run → ${denseDir}` });
    const dense = await runTraining({
      config: denseConfig,
      dir: denseDir,
      mode: new RunStore(denseDir).exists() ? 'resume' : 'new',
      signal: options.signal,
      onEvent: (event) => emit({ type: 'train', arm: 'dense-source', event }),
    });
    if (dense.status === 'interrupted') return { status: 'interrupted' };
    denseDir = dense.dir;
  }

  // 2. Score the chosen checkpoint and build the ticket mask (on the dense run's backend; when the
  // dense run was reused nothing has initialised one yet).
  await initBackend(config.dense.backend);
  const denseStore = new RunStore(denseDir);
  const dense = config.dense;
  const model: GrokModel = createModel(dense.model.kind, Object.fromEntries(Object.entries(dense.model).filter(([k]) => k !== 'kind')));
  const data = getTask(String(dense.task.name)).load(dense.task, dense.seed);
  const theta0 = (await denseStore.loadWeights('init')).weights;
  const scored = await denseStore.loadWeights(checkpointName(config.fromStep));
  const rewind = config.rewindStep === 'init' ? theta0 : (await denseStore.loadWeights(checkpointName(config.rewindStep))).weights;
  const maskOptions: MaskOptions = {
    pruningRate: config.pruningRate,
    scope: config.scope,
    schedule: config.schedule,
    rounds: config.rounds,
    invert: config.invert,
    shuffle: config.shuffle,
    ...(config.prunable ? { prunable: config.prunable } : {}),
  };
  emit({ type: 'phase', message: `scoring ${checkpointName(config.fromStep)} with ${pruner.name}, pruning rate ${config.pruningRate}` });
  const ticketMask = await buildMask(pruner, { model, weights: scored.weights, initialWeights: theta0, batch: data.train, seed: dense.seed }, maskOptions);
  const shapes = Object.fromEntries(model.params.map((p) => [p.name, p.shape]));
  const maskTensors: Record<string, StoredTensor> = {};
  for (const [k, m] of Object.entries(ticketMask.masks)) maskTensors[`mask/${k}`] = { dtype: 'F32', shape: shapes[k]!, data: m };
  await saveCheckpoint(parent.file('masks', 'ticket.safetensors'), {
    tensors: maskTensors,
    meta: { pruner: pruner.name, fromStep: config.fromStep, pruningRate: config.pruningRate, kept: ticketMask.kept, total: ticketMask.total },
  });
  // Norms over every parameter (unpruned ones count whole), since α scales all of them.
  const { alphaL1, alphaL2 } = sameNormScales(rewind, ticketMask.masks, model.params.map((p) => p.name), config.normDefinition);

  // 3. Plan every arm.
  const retrainConfig: TrainConfig = resolveTrainConfig({
    ...dense,
    checkpointSteps: [],
    optimizer: { ...dense.optimizer, ...(config.retrain.weightDecay !== undefined ? { weightDecay: config.retrain.weightDecay } : {}) },
    steps: config.retrain.steps ?? dense.steps,
    evalEvery: config.retrain.evalEvery ?? dense.evalEvery,
  });
  const total = ticketMask.total;
  const allOnes = denseMasks(model);
  const base = { denseDir, fromStep: config.fromStep, rewindStep: config.rewindStep, pruningRate: config.pruningRate };
  const plans: ArmPlan[] = [];
  for (const arm of config.arms) {
    const dir = path.join(options.dir, 'arms', arm);
    const plan = (initialWeights: NamedArrays, masks: NamedArrays | undefined, kept: number, extra: Record<string, unknown> = {}, alpha?: number): ArmPlan => ({
      arm,
      dir,
      config: retrainConfig,
      initialWeights,
      masks,
      kept,
      total,
      alpha,
      provenance: { experiment: 'grokking-ticket', arm, ...base, ...extra },
    });
    if (arm === 'ticket') plans.push(plan(rewind, ticketMask.masks, ticketMask.kept, { pruner: pruner.name }));
    else if (arm === 'dense') plans.push(plan(theta0, undefined, total));
    else if (arm === 'same-l1') plans.push(plan(scale(rewind, alphaL1), undefined, total, { alpha: alphaL1, normDefinition: config.normDefinition }, alphaL1));
    else if (arm === 'same-l2') plans.push(plan(scale(rewind, alphaL2), undefined, total, { alpha: alphaL2, normDefinition: config.normDefinition }, alphaL2));
    else {
      // random mask at the same rate, or pruning at initialisation: scores on θ0 with all-ones masks
      const p = getPruner(arm);
      emit({ type: 'phase', message: `${arm} mask on θ0 at pruning rate ${config.pruningRate}` });
      const m = await buildMask(p, { model, weights: theta0, masks: allOnes, initialWeights: theta0, batch: data.train, seed: dense.seed }, { ...maskOptions, invert: false, shuffle: false });
      plans.push(plan(theta0, m.masks, m.kept, { pruner: arm, scoredCheckpoint: 'init' }));
    }
  }

  // 4. Run the arms (in this thread, or in worker threads with --jobs).
  const denseHash = configHash(dense);
  const results = new Map<ArmName, { result: RunResult | null; reusedDir?: string }>();
  const pending: ArmPlan[] = [];
  for (const plan of plans) {
    // The dense arm retrained with the dense run's own settings is the dense run itself.
    if (plan.arm === 'dense' && configHash(plan.config) === denseHash) results.set('dense', { result: null, reusedDir: denseDir });
    else pending.push(plan);
  }
  const interrupted = await runArms(pending, options, emit, results);
  if (interrupted) return { status: 'interrupted' };

  // 5. Summarise. Speed-ups are against the dense arm when it ran, else against the dense source run.
  const denseArm = results.get('dense');
  const baselineDir = denseArm?.reusedDir ?? (denseArm ? path.join(options.dir, 'arms', 'dense') : denseDir);
  const denseT = new RunStore(baselineDir).readJson<RunSummary>('summary.json').stepsTo.test_acc_0_95;
  const arms: ArmResult[] = plans.map((plan) => {
    const r = results.get(plan.arm)!;
    const dir = r.reusedDir ?? plan.dir;
    const store = new RunStore(dir);
    const summary = r.result?.summary ?? store.readJson<RunSummary>('summary.json');
    const rows = store.readMetrics();
    const first = rows[0]!;
    const t = summary.stepsTo.test_acc_0_95;
    return {
      arm: plan.arm,
      dir,
      status: r.reusedDir ? 'reused' : r.result!.status,
      stepsToTest95: t,
      stepsToTrain95: summary.stepsTo.train_acc_0_95,
      speedupVsDense: t !== null && denseT !== null && t > 0 ? denseT / t : null,
      finalTrainAcc: summary.final.train_acc,
      finalTestAcc: summary.final.test_acc,
      initialL1: first.l1_global,
      initialL2: first.l2_global,
      finalL1: summary.final.l1_global,
      finalL2: summary.final.l2_global,
      keptWeights: plan.kept,
      totalWeights: plan.total,
      ...(plan.alpha !== undefined ? { alpha: plan.alpha } : {}),
    };
  });
  const summary: TicketSummary = {
    config,
    denseDir,
    scoredCheckpoint: checkpointName(config.fromStep),
    keepFraction: 1 - config.pruningRate,
    pruningRate: config.pruningRate,
    kept: ticketMask.kept,
    total: ticketMask.total,
    perTensor: ticketMask.perTensor,
    alphaL1,
    alphaL2,
    normDefinition: config.normDefinition,
    arms,
  };
  parent.writeJson('ticket-summary.json', summary);
  return { status: 'finished', summary };
}

async function runArms(
  plans: ArmPlan[],
  options: TicketOptions,
  emit: (e: TicketEvent) => void,
  results: Map<ArmName, { result: RunResult | null; reusedDir?: string }>,
): Promise<boolean> {
  const jobs = Math.max(1, options.jobs ?? 1);
  const modeFor = (plan: ArmPlan): RunMode => (new RunStore(plan.dir).exists() ? 'resume' : options.mode === 'force' ? 'force' : 'new');
  if (jobs === 1) {
    for (const plan of plans) {
      const result = await runTraining({
        config: plan.config,
        dir: plan.dir,
        mode: modeFor(plan),
        initialWeights: plan.initialWeights,
        masks: plan.masks,
        provenance: plan.provenance,
        signal: options.signal,
        onEvent: (event) => emit({ type: 'train', arm: plan.arm, event }),
      });
      results.set(plan.arm, { result });
      if (result.status === 'interrupted') return true;
    }
    return false;
  }
  const { runArmInWorker } = await import('./armPool.js');
  const queue = [...plans];
  let interrupted = false;
  const worker = async () => {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      const result = await runArmInWorker(
        { config: plan.config, dir: plan.dir, mode: modeFor(plan), initialWeights: plan.initialWeights, masks: plan.masks, provenance: plan.provenance },
        options.signal,
        (event) => emit({ type: 'train', arm: plan!.arm, event }),
      );
      results.set(plan.arm, { result });
      if (result.status === 'interrupted') interrupted = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, plans.length) }, worker));
  return interrupted;
}
