import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { denseMasks, initialWeights } from '@grokking-tickets/models';
import {
  buildMask,
  getPruner,
  listPruners,
  loadPruner,
  type MaskOptions,
  type MaskResult,
  type Pruner,
} from '@grokking-tickets/pruners';
import { LOCK_FILE, RunFolderError, RunStore, saveCheckpoint, type StoredTensor } from '@grokking-tickets/run-store';
import {
  ConfigError,
  checkResources,
  configHash,
  getTask,
  mergeInput,
  runTraining,
  type RunMode,
  type RunOptions,
  type RunSummary,
  type TrainEvent,
} from '@grokking-tickets/training';
import { getArm, type ArmContext, type ArmPlan } from './arms.js';
import {
  maskOverlap,
  maskStats,
  sameNormScales,
  type KeptCount,
  type TensorOverlap,
} from '@grokking-tickets/grokking-metrics';
import { ExperimentError, modelOf, openDenseRun, type DenseSource } from './dense.js';
import {
  createInProcessExecutor,
  createWorkerThreadExecutor,
  runStacked,
  type Executor,
  type JobOutcome,
  type RunJob,
} from './executors.js';
import {
  denseTrainingConfig,
  resolveTicketConfig,
  retrainConfig,
  ticketIdentity,
  type NormDefinition,
  type TicketConfig,
  type TicketConfigInput,
} from './ticketConfig.js';

/**
 * Default number of runs per stack for experiments (`ticket --stack`). From `npm run bench`'s
 * throughput table (README, Performance): the paper's MLP gives 698 model-steps/s with two
 * processes at K = 1 and 803–824 at K = 4–16 (555 → 761–776 per CPU-second), flat beyond K = 4,
 * while resident memory per run falls from ~126 MB (K = 1) to ~22 MB (K = 8); 8 keeps a stack's
 * memory (~180 MB) and its wasted slots (runs that finished early) small.
 */
export const DEFAULT_STACK = 8;

/** What `ticket.json` holds: the resolved config (its identity hash checks it on every read). */
export interface TicketRecord {
  config: TicketConfig;
  /** {@link ticketIdentity} of the config. */
  identity: string;
  /**
   * The dense run's folder relative to the experiment folder (sweeps: the shared dense run), so the
   * pair can be moved or mounted elsewhere together; overrides `config.denseDir` when present.
   */
  denseRun?: string;
  /**
   * Sweeps: the mask-free dense arm's run folder relative to the experiment folder (a plain run
   * shared by every rate of the sweep; the dense run itself when retrained with its settings).
   */
  denseArm?: string;
}

/** Progress of a ticket experiment: which phase, and training events tagged with the arm. */
export type TicketEvent = { type: 'phase'; message: string } | { type: 'train'; arm: string; event: TrainEvent };

/** Options of `runTicket`. */
export interface TicketOptions {
  config?: TicketConfigInput;
  /** Parent folder: `ticket.json`, `masks/`, `dense-source/` (unless reused), `arms/<arm>/`, `ticket-summary.json`. */
  dir: string;
  mode?: RunMode;
  /** Run up to this many arms at once in worker threads (default 1: in this thread). */
  jobs?: number;
  /** Or run the arms with this executor (overrides `jobs`). */
  executor?: Executor;
  /**
   * Train up to this many arms as one stacked computation (runs of one model and task; results
   * bit-identical to training them one by one on WASM). 1 turns stacking off. Default
   * {@link DEFAULT_STACK}.
   */
  stack?: number;
  signal?: AbortSignal;
  onEvent?: (event: TicketEvent) => void;
  /** Folder that relative pruner paths are resolved from (default: process.cwd()). */
  cwd?: string;
}

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

/** Entries of an experiment folder; `--force` removes these and nothing else. */
const EXPERIMENT_ENTRIES = ['ticket.json', 'ticket-summary.json', 'masks', 'arms', 'dense-source'];

const isBuiltinPruner = (spec: string) => listPruners().includes(spec);

/** True when `p` is a file, or a folder holding a file at any depth (temp files and locks do not count). */
function holdsFiles(p: string): boolean {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return false;
  if (!st.isDirectory()) return !p.endsWith('.tmp') && path.basename(p) !== LOCK_FILE;
  return fs.readdirSync(p).some((e) => holdsFiles(path.join(p, e)));
}

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(path.resolve(outer), path.resolve(inner));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves the experiment's pruner. A built-in is taken from the registry; anything else is a
 * plug-in and is loaded only when `userSpec` (a name the user gave in this invocation) names it, so
 * a pruner written into stored state (an edited `ticket.json`, a queue message) is never executed.
 */
export async function resolveExperimentPruner(
  spec: string,
  userSpec: string | undefined,
  cwd: string,
): Promise<Pruner> {
  if (isBuiltinPruner(spec)) return getPruner(spec);
  if (userSpec !== spec) {
    throw new ExperimentError(
      `this experiment uses the pruner "${spec}", which is not built in; plug-ins are loaded only from names given on the command line: pass --pruner ${spec}`,
    );
  }
  return loadPruner(spec, cwd);
}

/** Reads and verifies an experiment's `ticket.json` (its config must still have its identity hash). */
export function readTicketRecord(dir: string): TicketRecord {
  const store = new RunStore(dir);
  if (!fs.existsSync(store.file('ticket.json')))
    throw new RunFolderError(`${dir} holds no ticket experiment (no ticket.json)`);
  const record = store.readJson<TicketRecord>('ticket.json');
  if (!record || typeof record !== 'object' || typeof record.identity !== 'string' || !record.config) {
    throw new RunFolderError(`${store.file('ticket.json')} is not a ticket record`);
  }
  let config: TicketConfig;
  try {
    config = resolveTicketConfig(record.config);
  } catch (e) {
    throw new RunFolderError(`${store.file('ticket.json')}: ${(e as Error).message}`, { cause: e });
  }
  if (ticketIdentity(config) !== record.identity || ticketIdentity(record.config) !== record.identity) {
    throw new RunFolderError(
      `${store.file('ticket.json')} does not match its identity hash ${record.identity}: the file was edited or made by other code`,
    );
  }
  for (const field of ['denseRun', 'denseArm'] as const) {
    const value = record[field];
    if (value !== undefined && (typeof value !== 'string' || value === '' || path.isAbsolute(value))) {
      throw new RunFolderError(`${store.file('ticket.json')}: ${field} must be a folder relative to the experiment`);
    }
  }
  const denseDir = record.denseRun !== undefined ? path.join(dir, record.denseRun) : record.config.denseDir;
  return {
    config: { ...config, denseDir },
    identity: record.identity,
    ...(record.denseRun !== undefined ? { denseRun: record.denseRun } : {}),
    ...(record.denseArm !== undefined ? { denseArm: record.denseArm } : {}),
  };
}

/** The dense run folder of an experiment: the reused one, or `<dir>/dense-source`. */
export function denseDirOf(dir: string, config: TicketConfig): string {
  return config.denseDir ?? path.join(dir, 'dense-source');
}

/** Mask options of an experiment. */
function maskOptionsOf(config: TicketConfig): MaskOptions {
  return {
    pruningRate: config.pruningRate,
    scope: config.scope,
    schedule: config.schedule,
    rounds: config.rounds,
    invert: config.invert,
    shuffle: config.shuffle,
    ...(config.prunable ? { prunable: config.prunable } : {}),
  };
}

/** The lazily computed masks and weights every arm plans from. */
function armContext(config: TicketConfig, dense: DenseSource, pruner: Pruner): ArmContext {
  const data = getTask(String(dense.config.task.name)).load(dense.config.task, dense.config.seed);
  const maskOptions = maskOptionsOf(config);
  let ticket: Promise<MaskResult> | undefined;
  const atInit = new Map<string, Promise<MaskResult>>();
  return {
    model: dense.model,
    theta0: dense.theta0,
    rewind: dense.rewind,
    batch: data.train,
    pruningRate: config.pruningRate,
    normDefinition: config.normDefinition,
    maskOptions,
    ticketMask: () =>
      (ticket ??= buildMask(
        pruner,
        {
          model: dense.model,
          weights: dense.scored,
          initialWeights: dense.theta0,
          batch: data.train,
          seed: dense.config.seed,
        },
        maskOptions,
      )),
    maskAtInit: (name: string) => {
      let m = atInit.get(name);
      if (!m) {
        const ctx = {
          model: dense.model,
          weights: dense.theta0,
          masks: denseMasks(dense.model),
          initialWeights: dense.theta0,
          batch: data.train,
          seed: dense.config.seed,
        };
        atInit.set(name, (m = buildMask(getPruner(name), ctx, { ...maskOptions, invert: false, shuffle: false })));
      }
      return m;
    },
  };
}

/** Options of {@link runArm}. */
export interface ArmJobOptions {
  /** The experiment folder (holding a verified `ticket.json`). */
  experimentDir: string;
  arm: string;
  /** The pruner spec the user gave in this invocation (needed when the experiment's pruner is a plug-in). */
  prunerSpec?: string;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
}

/**
 * Trains (or resumes, or reuses) one arm of an experiment in `<experimentDir>/arms/<arm>`. Reads
 * and verifies `ticket.json` and the dense run, plans the arm from the registry, and on resume
 * refuses an arm folder whose stored initial weights or masks differ from the plan.
 */
export async function runArm(options: ArmJobOptions): Promise<JobOutcome> {
  const plan = await planArm(options);
  if ('outcome' in plan) return plan.outcome;
  const result = await runTraining(plan.run);
  return { id: plan.outcomeId, status: result.status, dir: plan.run.dir, summary: result.summary };
}

/**
 * Plans one arm without training it: the `runTraining` options of its run (initial weights, masks,
 * provenance, folder mode), or the outcome when nothing is to be trained (a dense arm that is the
 * dense run itself). Used by {@link runArm} and by stacked execution.
 */
export async function planArm(
  options: ArmJobOptions,
): Promise<{ outcome: JobOutcome } | { run: RunOptions & { dir: string }; outcomeId: string }> {
  const { config } = readTicketRecord(options.experimentDir);
  const id = `${options.experimentDir}#${options.arm}`;
  const denseDir = denseDirOf(options.experimentDir, config);
  const dense = await openDenseRun(denseDir, config.fromStep, config.rewindStep);
  for (const note of dense.notes) options.onEvent?.({ type: 'notice', message: note });
  const retrain = retrainConfig(config);
  if (options.arm === 'dense' && configHash(retrain) === dense.configHash) {
    // Retrained with the dense run's own settings, the dense arm is the dense run itself.
    return { outcome: { id, status: 'reused', dir: denseDir, summary: dense.summary } };
  }
  await initBackend(dense.config.backend);
  const pruner = await resolveExperimentPruner(config.pruner, options.prunerSpec, options.cwd ?? process.cwd());
  const plan: ArmPlan = await getArm(options.arm).plan(armContext(config, dense, pruner));
  const dir = path.join(options.experimentDir, 'arms', options.arm);
  const store = new RunStore(dir);
  return {
    outcomeId: id,
    run: {
      config: retrain,
      dir,
      mode: store.exists() ? 'resume' : 'new',
      initialWeights: plan.initialWeights,
      masks: plan.masks,
      verifyInit: true,
      provenance: {
        experiment: 'grokking-ticket',
        experimentId: ticketIdentity(config),
        arm: options.arm,
        denseDir,
        denseConfigHash: dense.configHash,
        fromStep: config.fromStep,
        rewindStep: config.rewindStep,
        pruningRate: config.pruningRate,
        pruner: config.pruner,
        kept: plan.kept,
        total: plan.total,
        ...(plan.alpha !== undefined ? { alpha: plan.alpha } : {}),
        ...plan.provenance,
      },
      command: `grokking-tickets ticket (arm ${options.arm})`,
      signal: options.signal,
      onEvent: options.onEvent,
    },
  };
}

/** Checks and sets up everything before a ticket experiment trains anything; returns the resolved state. */
async function prepareTicket(
  options: TicketOptions,
): Promise<{ config: TicketConfig; pruner: Pruner; dense: DenseSource | null; resumed: boolean }> {
  const mode = options.mode ?? 'new';
  const cwd = options.cwd ?? process.cwd();
  const store = new RunStore(options.dir);
  const hasRecord = fs.existsSync(store.file('ticket.json'));
  let config: TicketConfig;
  if (mode === 'resume') {
    if (!hasRecord)
      throw new RunFolderError(`cannot resume: ${options.dir} holds no ticket experiment (no ticket.json)`);
    const stored = readTicketRecord(options.dir).config;
    config = stored;
    if (options.config) {
      // Settings given again on resume must not change the experiment (arms may be added).
      const given = resolveTicketConfig(mergeInput(stored, options.config) as TicketConfigInput);
      if (ticketIdentity(given) !== ticketIdentity(stored) || given.denseDir !== stored.denseDir) {
        throw new ConfigError(
          `--resume: the given settings describe a different experiment than the one in ${options.dir}; drop the changed settings to resume it as it was`,
        );
      }
      config = { ...stored, arms: given.arms };
    }
  } else {
    config = resolveTicketConfig(options.config ?? {});
    if (hasRecord && mode === 'new')
      throw new RunFolderError(`${options.dir} already exists; pass --resume to continue it or --force to replace it`);
  }
  const userSpec = options.config?.pruner;
  const pruner = await resolveExperimentPruner(
    config.pruner,
    userSpec ?? (mode === 'resume' ? undefined : config.pruner),
    cwd,
  );

  // A reused dense run is an input: verify it now, and never let --force touch it.
  let dense: DenseSource | null = null;
  if (config.denseDir) {
    if (mode === 'force' && (within(config.denseDir, options.dir) || within(options.dir, config.denseDir))) {
      throw new ConfigError(
        `--force would delete ${config.denseDir}, the dense run this experiment reads; choose another --out`,
      );
    }
    dense = await openDenseRun(config.denseDir, config.fromStep, config.rewindStep);
    const conflicts = mode === 'resume' ? [] : conflictsWithDense(dense.config, options.config?.dense);
    if (conflicts.length > 0)
      throw new ConfigError(
        `--dense ${config.denseDir} is for a different task, model or seed (${conflicts.join('; ')})`,
      );
    config = { ...config, dense: dense.config };
  }
  const model = modelOf(config.dense);
  if (config.prunable) {
    const known = model.params.filter((p) => p.prunable).map((p) => p.name);
    const unknown = config.prunable.filter((n) => !known.includes(n));
    if (unknown.length)
      throw new ConfigError(
        `prunable: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not prunable; choose among ${known.join(', ')}`,
      );
  }
  for (const arm of config.arms) getArm(arm);
  checkResources(config.dense);
  checkResources(retrainConfig(config));
  await initBackend(config.dense.backend);
  if (!dense && !new RunStore(denseDirOf(options.dir, config)).isFinished()) {
    // Try the pruner on θ0 now, so that a pruner that fails does so before a long dense run.
    const data = getTask(String(config.dense.task.name)).load(config.dense.task, config.dense.seed);
    const theta0 = initialWeights(model, config.dense.seed);
    try {
      await buildMask(
        pruner,
        { model, weights: theta0, initialWeights: theta0, batch: data.train, seed: config.dense.seed },
        maskOptionsOf(config),
      );
    } catch (e) {
      throw new ExperimentError(
        `the pruner "${config.pruner}" fails on this model (tried on θ0 before training the dense run): ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  return { config, pruner, dense, resumed: mode === 'resume' };
}

/**
 * Fields the user set explicitly (task, model, seed) that differ from a reused dense run's config;
 * unset fields are taken from the dense run.
 */
function conflictsWithDense(stored: TicketConfig['dense'], given: TicketConfigInput['dense']): string[] {
  if (!given) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(given.task ?? {}))
    if (v !== undefined && stored.task[k] !== v)
      out.push(`task.${k} ${JSON.stringify(stored.task[k])} vs ${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(given.model ?? {}))
    if (v !== undefined && stored.model[k] !== v)
      out.push(`model.${k} ${JSON.stringify(stored.model[k])} vs ${JSON.stringify(v)}`);
  if (given.seed !== undefined && given.seed !== stored.seed) out.push(`seed ${stored.seed} vs ${given.seed}`);
  return out;
}

/**
 * The grokking-ticket experiment (protocol §6): train (or reuse) a dense run, score the checkpoint at
 * `fromStep` with the pruner, mask at the pruning rate, rewind, and retrain every requested arm —
 * the ticket, the dense baseline, same-L1/L2 dense controls, a random mask, and pruning at
 * initialisation (SNIP, GraSP, SynFlow on θ0) — each in its own resumable run folder.
 *
 * Everything is validated before a folder is created or a step trained (config by schema, the
 * pruner by a dry run on θ0, a reused dense run and its checkpoints by hash and checksum); the
 * experiment folder is locked while it runs; `ticket.json` is verified against its identity hash on
 * every read, and a plug-in pruner is loaded only from `config.pruner` as given in this call.
 * @example
 * const { summary } = await runTicket({
 *   dir: 'runs/ticket-s0',
 *   config: { denseDir: 'runs/dense-s0', pruningRate: 0.6, arms: ['ticket', 'same-l1', 'same-l2', 'random'] },
 *   jobs: 2,
 * });
 * summary?.arms.map((a) => [a.arm, a.stepsToTest95, a.speedupVsDense]);
 */
export async function runTicket(
  options: TicketOptions,
): Promise<{ status: 'finished' | 'interrupted'; summary?: TicketSummary }> {
  const emit = options.onEvent ?? (() => {});
  const { config, dense: reused, pruner } = await prepareTicket(options);
  const mode = options.mode ?? 'new';
  const store = new RunStore(options.dir);
  const lock = store.lock('grokking-tickets ticket');
  try {
    if (mode === 'resume' && readTicketRecord(options.dir).identity !== ticketIdentity(config)) {
      throw new RunFolderError(`${options.dir} changed while it was being checked; run the command again`);
    }
    if (mode !== 'resume') {
      const hasRecord = fs.existsSync(store.file('ticket.json'));
      if (hasRecord && mode === 'new')
        throw new RunFolderError(
          `${options.dir} already exists; pass --resume to continue it or --force to replace it`,
        );
      const entries = fs.readdirSync(options.dir).filter((e) => e !== LOCK_FILE && !e.endsWith('.tmp'));
      const foreign = entries.filter((e) => !EXPERIMENT_ENTRIES.includes(e));
      if (foreign.length > 0 && !hasRecord)
        throw new RunFolderError(
          `${options.dir} is not empty and holds no experiment (it has ${foreign[0]}); choose another --out`,
        );
      if (mode === 'new' && entries.some((e) => holdsFiles(store.file(e)))) {
        throw new RunFolderError(
          `${options.dir} holds parts of an experiment but no ticket.json; pass --force to start it again`,
        );
      }
      // --force replaces the whole experiment: stale arms must not be resumed as if they were new.
      for (const entry of EXPERIMENT_ENTRIES) fs.rmSync(store.file(entry), { recursive: true, force: true });
      store.writeJson('ticket.json', { config, identity: ticketIdentity(config) } satisfies TicketRecord);
    }

    // 1. The dense run (trained here unless reused), with the checkpoints the ticket needs.
    const denseDir = denseDirOf(options.dir, config);
    if (!reused) {
      emit({ type: 'phase', message: `dense run → ${denseDir}` });
      const result = await runTraining({
        config: denseTrainingConfig(config),
        dir: denseDir,
        mode: new RunStore(denseDir).exists() ? 'resume' : 'new',
        command: 'grokking-tickets ticket (dense run)',
        signal: options.signal,
        onEvent: (event) => emit({ type: 'train', arm: 'dense-source', event }),
      });
      if (result.status === 'interrupted') return { status: 'interrupted' };
    }
    const dense = reused ?? (await openDenseRun(denseDir, config.fromStep, config.rewindStep));

    // 2. The ticket mask, for the summary and as an artefact (each arm recomputes what it needs).
    emit({
      type: 'phase',
      message: `scoring ${dense.scoredCheckpoint} with ${pruner.name}, pruning rate ${config.pruningRate}`,
    });
    const ctx = armContext(config, dense, pruner);
    const ticketMask = await ctx.ticketMask();
    const shapes = Object.fromEntries(dense.model.params.map((p) => [p.name, p.shape]));
    const maskTensors: Record<string, StoredTensor> = {};
    for (const [k, m] of Object.entries(ticketMask.masks))
      maskTensors[`mask/${k}`] = { dtype: 'F32', shape: shapes[k]!, data: m };
    await saveCheckpoint(store.file('masks', 'ticket.safetensors'), {
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

    // 3. The arms, in this thread or in worker threads.
    const jobs: RunJob[] = config.arms.map((arm) => ({
      kind: 'arm',
      id: `${arm}`,
      label: arm,
      experimentDir: options.dir,
      arm,
      ...(options.config?.pruner && !isBuiltinPruner(options.config.pruner)
        ? { prunerSpec: options.config.pruner }
        : {}),
      cwd: options.cwd ?? process.cwd(),
    }));
    const executor =
      options.executor ??
      ((options.jobs ?? 1) > 1
        ? createWorkerThreadExecutor({ concurrency: options.jobs! })
        : createInProcessExecutor());
    // Arms share model and task: stacked, they train as one computation per worker.
    const outcomes = await runStacked(executor, jobs, options.stack ?? DEFAULT_STACK, {
      workers: options.jobs ?? 1,
      signal: options.signal,
      onEvent: (job, event) => emit({ type: 'train', arm: job.label, event }),
    });
    if (outcomes.some((o) => o.status === 'interrupted')) return { status: 'interrupted' };
    const failed = outcomes.filter((o) => o.status === 'failed');
    if (failed.length > 0) {
      throw new ExperimentError(
        `${failed.length} arm${failed.length > 1 ? 's' : ''} failed: ${failed.map((f) => `${f.id}: ${f.error?.message}`).join('; ')}`,
      );
    }

    // 4. Summary. Speed-ups are against the dense arm when it ran, else against the dense source run.
    const byArm = new Map(outcomes.map((o, i) => [config.arms[i]!, o]));
    const denseOutcome = byArm.get('dense');
    const denseT = (denseOutcome?.summary ?? dense.summary).stepsTo.test_acc_0_95;
    const arms: ArmResult[] = config.arms.map((arm) => armResult(arm, byArm.get(arm)!, denseT));
    const summary: TicketSummary = {
      config,
      denseDir,
      scoredCheckpoint: dense.scoredCheckpoint,
      keepFraction: 1 - config.pruningRate,
      pruningRate: config.pruningRate,
      kept: ticketMask.kept,
      total: ticketMask.total,
      perTensor: ticketMask.perTensor,
      alphaL1: scales.alphaL1,
      alphaL2: scales.alphaL2,
      normDefinition: config.normDefinition,
      arms,
      ...(await armMasks(arms)),
    };
    store.writeJson('ticket-summary.json', summary);
    return { status: 'finished', summary };
  } finally {
    lock.release();
  }
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
