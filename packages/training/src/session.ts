import { initBackend } from '@grokking-tickets/backend';
import {
  createModel,
  initialWeights,
  validateArrays,
  type GrokModel,
  type NamedArrays,
} from '@grokking-tickets/models';
import {
  CheckpointError,
  RunFolderError,
  RunStore,
  type FolderLock,
  type ResumeMeta,
  type RunRecord,
  type StoredOptimizerState,
  type StoredTensor,
} from '@grokking-tickets/run-store';
import { allPairs, analyzeState } from './analysis.js';
import {
  ConfigError,
  checkResources,
  configHash,
  mergeInput,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
import { codeDifference, codeProvenance } from './provenance.js';
import { summarize, type RunSummary } from './summary.js';
import { getTask, type TaskData } from './tasks.js';
import type { EvalRow } from './trainer.js';

/** Progress events of a run, for progress bars and logs. */
export type TrainEvent =
  | { type: 'start'; dir: string; step: number; steps: number; backend: string; resumed: boolean }
  | { type: 'eval'; row: EvalRow; steps: number; elapsedMs: number }
  | { type: 'checkpoint'; name: string; step: number }
  | { type: 'notice'; message: string }
  | { type: 'interrupted'; step: number }
  | { type: 'finish'; summary: RunSummary };

/** How to open the run folder: a new run, continue an interrupted one, or overwrite. */
export type RunMode = 'new' | 'resume' | 'force';

/** Options of `runTraining` (and of each run of a stack). */
export interface RunOptions {
  /**
   * A config to resolve (defaults: the paper's dense MLP run). On resume it may be omitted; if
   * given, its fields are laid over the stored config and must not change it, or the resume is refused.
   */
  config?: TrainConfigInput;
  /** The run folder. */
  dir: string;
  mode?: RunMode;
  /** Start from these weights instead of the seeded θ0 (tickets: rewound weights). */
  initialWeights?: NamedArrays;
  /** Fixed masks (tickets). */
  masks?: NamedArrays;
  /**
   * On resume, check that the stored init checkpoint holds exactly `initialWeights` ⊙ `masks` (and
   * the masks): an experiment re-derives its arms' starting points and refuses a folder whose
   * stored start differs from the plan.
   */
  verifyInit?: boolean;
  /** Extra provenance stored in config.json (e.g. which dense run a ticket came from). */
  provenance?: Record<string, unknown>;
  /** What is running, for the folder lock's holder line (default `grokking-tickets train`). */
  command?: string;
  /** Abort to stop cleanly: the state is saved and the run can be resumed. */
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
}

/** Result of `runTraining`. */
export interface RunResult {
  status: 'finished' | 'interrupted' | 'already-finished';
  dir: string;
  step: number;
  summary?: RunSummary;
  config: TrainConfig;
}

/** A run stopped because a weight, moment or loss became NaN or infinite. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  readonly code = 'GT_NONFINITE';
}

/** What a trainer (solo, or one run of a stack) exposes to its run's session. */
export interface RunTrainerView {
  readonly updates: number;
  getWeights(): NamedArrays;
  getOptimizerState(): StoredOptimizerState;
  /** The first parameter or optimiser moment holding NaN or ±Infinity, or null. */
  firstNonFinite(): string | null;
  /** Logits of the current effective weights on a batch (for the restricted loss). */
  logits(batch: import('@grokking-tickets/models').Batch): Float32Array;
}

function buildModel(config: TrainConfig): GrokModel {
  return createModel(config.model.kind, Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')));
}

/** Rows a run must have logged before `step`: every `evalEvery` updates from 0. */
function metricsCover(rows: readonly { step: number }[], step: number, evalEvery: number): boolean {
  const expected = Math.ceil(step / evalEvery);
  return rows.length === expected && rows.every((r, i) => r.step === i * evalEvery);
}

const applyMask = (w: NamedArrays, masks: NamedArrays | undefined): NamedArrays =>
  masks
    ? Object.fromEntries(Object.entries(w).map(([k, v]) => [k, masks[k] ? v.map((x, i) => (masks[k]![i] ? x : 0)) : v]))
    : w;

/**
 * One run's folder while it trains: everything a training loop needs besides the arithmetic. Opening
 * it validates the config (schema, memory), the backend and the initial weights and masks before the
 * folder is touched, then locks the folder and either prepares a new run (config.json with its hash
 * and code provenance, the init checkpoint) or verifies what a resume reads (config against its hash
 * and this code's package versions, checkpoints by checksum, the resume state by range, the metrics
 * line by line; metrics that do not cover the resume point restart the run from step 0, which gives
 * the same rows again). Close it in a `finally`.
 */
export class RunSession {
  private lock: FolderLock | null = null;
  /** The verified resume state to restore, or null to start from `initWeights`. */
  resume: { weights: NamedArrays; opt: StoredOptimizerState; meta: ResumeMeta } | null = null;
  /** Training time already spent in earlier processes, in ms. */
  elapsedMs = 0;
  initWeights!: NamedArrays;
  masks: NamedArrays | undefined;
  data!: TaskData;
  /** Set when the run had already finished (nothing to train). */
  finished: RunSummary | null = null;
  private allPairsBatch: ReturnType<typeof allPairs> | null = null;

  private constructor(
    readonly options: RunOptions,
    readonly store: RunStore,
    readonly config: TrainConfig,
    readonly hash: string,
    readonly model: GrokModel,
    readonly shapes: Record<string, number[]>,
    readonly backend: string,
  ) {}

  /** Validates, locks and prepares (or verifies) the run folder. */
  static async open(options: RunOptions): Promise<RunSession> {
    const store = new RunStore(options.dir);
    const mode = options.mode ?? 'new';
    let config: TrainConfig;
    if (mode === 'resume') {
      if (!store.exists()) throw new RunFolderError(`cannot resume: ${options.dir} holds no run (no config.json)`);
      config = resolveTrainConfig(store.readRecord<TrainConfig>().config);
    } else {
      config = resolveTrainConfig(options.config ?? {});
    }
    checkResources(config);
    const model = buildModel(config);
    if (options.initialWeights) validateArrays(model, options.initialWeights, 'weights');
    if (options.masks) validateArrays(model, options.masks, 'masks');
    const backend = await initBackend(config.backend);
    const shapes = Object.fromEntries(model.params.map((p) => [p.name, p.shape]));
    const session = new RunSession(options, store, config, configHash(config), model, shapes, backend.name);
    session.lock = store.lock(options.command ?? 'grokking-tickets train');
    try {
      await session.prepare(mode, backend.notes);
    } catch (e) {
      session.close();
      throw e;
    }
    return session;
  }

  private notice(message: string): void {
    this.options.onEvent?.({ type: 'notice', message });
  }

  private async prepare(mode: RunMode, backendNotes: string[]): Promise<void> {
    const { store, options, config, hash, model, shapes } = this;
    const expect = { configHash: hash, shapes };
    let derivable = true;
    if (mode === 'resume') {
      // Read again under the lock: another process may have changed it since the first look.
      const record = store.readRecord<TrainConfig>();
      // θ0 can be derived again from the seed only for a plain run (an experiment passes its plan).
      derivable = options.initialWeights !== undefined || record.provenance === null;
      if (record.configHash !== hash) {
        throw new RunFolderError(
          `${store.file('config.json')} resolves to a different config with this code (hash ${hash}, stored ${record.configHash}); it was made by other code`,
        );
      }
      if (
        options.config !== undefined &&
        configHash(resolveTrainConfig(mergeInput(record.config, options.config) as TrainConfigInput)) !== hash
      ) {
        throw new ConfigError(
          `--resume: the given settings differ from the config stored in ${options.dir}; drop the changed settings to resume it as it was`,
        );
      }
      const diff = codeDifference(record.code);
      if (diff) throw new RunFolderError(`cannot resume ${options.dir}: ${diff}; start it again with --force`);
      if (store.isFinished()) {
        // A finished arm still has to be the run its experiment plans (its mask may have been edited since).
        if (options.verifyInit) this.verifyInit(await store.loadWeights('init', expect));
        this.finished = store.readJson<RunSummary>('summary.json');
        return;
      }
    } else {
      store.prepareNew(mode === 'force');
    }
    this.data = getTask(String(config.task.name)).load(config.task, config.seed);
    if (model.input !== this.data.train.kind)
      throw new RunFolderError(`model "${model.kind}" cannot read the "${config.task.name}" task's inputs`);
    this.masks = options.masks;
    if (mode === 'resume') {
      let init: Awaited<ReturnType<RunStore['loadWeights']>> | null = null;
      let problem = 'was missing';
      if (store.checkpointNames().includes('init')) {
        try {
          init = await store.loadWeights('init', expect);
        } catch (e) {
          if (!(e instanceof RunFolderError || e instanceof CheckpointError)) throw e;
          problem = `was damaged (${e.message})`;
        }
      }
      if (!init && !derivable)
        throw new RunFolderError(
          `${store.file('checkpoints', 'init.safetensors')} ${problem}, and this run's θ0 comes from an experiment; resume it through its experiment`,
        );
      if (!init) {
        // θ0 is derived from the config (or the experiment's plan), so a missing or damaged init
        // checkpoint is written again: killed after config.json, or a bit flip since.
        this.initWeights = applyMask(options.initialWeights ?? initialWeights(model, config.seed), this.masks);
        await this.writeInit();
        this.notice(`${store.file('checkpoints', 'init.safetensors')} ${problem}; written again from the config`);
      } else {
        if (options.verifyInit) this.verifyInit(init);
        this.initWeights = init.weights;
        this.masks = Object.keys(init.masks).length > 0 ? init.masks : undefined;
      }
      this.resume = await store.loadResume({ ...expect, steps: config.steps });
    } else {
      // A masked run starts from θ0 ⊙ m: pruned weights are stored as exact zeros from the start.
      this.initWeights = applyMask(options.initialWeights ?? initialWeights(model, config.seed), this.masks);
      store.writeRecord({
        config,
        configHash: hash,
        provenance: options.provenance ?? null,
        code: { ...codeProvenance() },
        environment: { backend: this.backend, backendNotes },
        parameters: model.params.map((p) => ({
          name: p.name,
          shape: p.shape,
          initStd: p.initStd,
          prunable: p.prunable,
        })),
      } satisfies RunRecord);
      await this.writeInit();
    }
    const metrics = store.readMetricsFile();
    if (metrics.tornLine !== null)
      this.notice(`${store.file('metrics.jsonl')}:${metrics.tornLine}: dropped a line cut short by an interruption`);
    if (this.resume) {
      const step = this.resume.meta.step;
      if (
        metricsCover(
          metrics.rows.filter((r) => r.step < step),
          step,
          config.evalEvery,
        )
      )
        this.elapsedMs = this.resume.meta.elapsedMs;
      else {
        this.notice(
          `${store.file('metrics.jsonl')} does not hold every row before step ${step}; restarting from step 0 (the rows come out the same)`,
        );
        this.resume = null;
      }
    }
    const start = this.resume?.meta.step ?? 0;
    store.writeMetrics(metrics.rows.filter((r) => r.step < start));
  }

  /** Throws unless the stored init holds exactly the planned θ0 ⊙ m and masks. */
  private verifyInit(init: { weights: NamedArrays; masks: NamedArrays }): void {
    const { options, model, config, store } = this;
    const planned = applyMask(options.initialWeights ?? initialWeights(model, config.seed), options.masks);
    const differs = (a: NamedArrays, b: NamedArrays) =>
      Object.keys({ ...a, ...b }).find(
        (k) => !a[k] || !b[k] || a[k].length !== b[k].length || a[k].some((x, i) => !Object.is(x, b[k]![i])),
      );
    const bad = differs(planned, init.weights) ?? differs(options.masks ?? {}, init.masks);
    if (bad)
      throw new RunFolderError(
        `${store.file('checkpoints', 'init.safetensors')}: "${bad}" differs from what the experiment plans for this run (edited, or from another experiment); start the experiment again with --force`,
      );
  }

  private async writeInit(): Promise<void> {
    const extra: Record<string, StoredTensor> = {};
    for (const [k, arr] of Object.entries(this.data.artifacts))
      extra[`data/${k}`] = { dtype: 'I32', shape: [arr.length], data: arr };
    if (this.masks)
      for (const [k, m] of Object.entries(this.masks))
        extra[`mask/${k}`] = { dtype: 'F32', shape: this.shapes[k]!, data: m };
    await this.store.saveWeights(
      'init',
      this.shapes,
      this.initWeights,
      { kind: 'init', step: 0, seed: this.config.seed, model: this.config.model, configHash: this.hash },
      extra,
    );
  }

  /** The step the loop starts at (0, or the verified resume step). */
  get startStep(): number {
    return this.resume?.meta.step ?? 0;
  }

  /** Reports the start of training. */
  started(): void {
    this.options.onEvent?.({
      type: 'start',
      dir: this.options.dir,
      step: this.startStep,
      steps: this.config.steps,
      backend: this.backend,
      resumed: this.startStep > 0,
    });
  }

  /**
   * Throws a {@link NonFiniteError} naming the step and the tensor (or the loss) when the trainer's
   * state or this row holds a NaN or an infinity.
   */
  guard(t: RunTrainerView, step: number, row?: EvalRow): void {
    const tensor = t.firstNonFinite();
    const lossBad = row && ![row.train_loss, row.test_loss].every(Number.isFinite);
    if (tensor || lossBad) {
      const what = tensor
        ? `${tensor} holds NaN or infinite values`
        : `the ${Number.isFinite(row!.train_loss) ? 'test' : 'train'} loss is ${Number.isFinite(row!.train_loss) ? row!.test_loss : row!.train_loss}`;
      throw new NonFiniteError(
        `training diverged at step ${step} in ${this.options.dir}: ${what}; the run stops here and its last good state is kept`,
      );
    }
  }

  /** Whether a row at `step` gets the Fourier analysis. */
  analysisDue(step: number): boolean {
    const every = this.config.analysisEvery;
    return every > 0 && (step % every === 0 || step === this.config.steps);
  }

  /** The analysis fields for the trainer's current state (empty for models without a token axis). */
  analyze(t: RunTrainerView): Record<string, unknown> {
    const task = this.config.task;
    let pairs: { logits: Float32Array; train: import('@grokking-tickets/models').PairBatch } | undefined;
    if (task.name === 'modular' && task.op === 'add' && this.data.train.kind === 'pairs') {
      this.allPairsBatch ??= allPairs(Number(task.p));
      pairs = { logits: t.logits(this.allPairsBatch), train: this.data.train };
    }
    return (analyzeState(this.model, t.getWeights(), this.masks, pairs) ?? {}) as Record<string, unknown>;
  }

  /** Records an evaluation row (check it first with {@link guard}). */
  record(row: EvalRow, elapsedMs: number): void {
    this.store.appendMetrics([row]);
    this.options.onEvent?.({ type: 'eval', row, steps: this.config.steps, elapsedMs });
  }

  /** Whether a weights checkpoint is due after `step` updates (not at the loop's first step). */
  checkpointDue(step: number): boolean {
    const c = this.config;
    return (
      step > this.startStep &&
      step < c.steps &&
      ((c.checkpointEvery > 0 && step % c.checkpointEvery === 0) || c.checkpointSteps.includes(step))
    );
  }

  /** Saves the weights after `step` updates as `checkpoints/step-NNNNNN`. */
  async checkpoint(t: RunTrainerView, step: number): Promise<void> {
    this.guard(t, step);
    await this.store.saveWeights(`step-${String(step).padStart(6, '0')}`, this.shapes, t.getWeights(), {
      kind: 'step',
      step,
      configHash: this.hash,
    });
    this.options.onEvent?.({ type: 'checkpoint', name: `step-${step}`, step });
  }

  /** Whether the resume state is due after `step` updates. */
  resumeDue(step: number): boolean {
    return step > this.startStep && step % this.config.resumeEvery === 0;
  }

  /** Saves the resume state (refused, with a NonFiniteError, if anything is non-finite). */
  async saveResume(t: RunTrainerView, elapsedMs: number): Promise<void> {
    this.guard(t, t.updates);
    await this.store.saveResume(this.shapes, t.getWeights(), t.getOptimizerState(), {
      step: t.updates,
      configHash: this.hash,
      elapsedMs,
    });
  }

  /** Saves the state of an interrupted run and reports it. */
  async interrupted(t: RunTrainerView, elapsedMs: number): Promise<RunResult> {
    await this.saveResume(t, elapsedMs);
    this.options.onEvent?.({ type: 'interrupted', step: t.updates });
    return { status: 'interrupted', dir: this.options.dir, step: t.updates, config: this.config };
  }

  /** Writes the final checkpoint, resume state and summary of a finished run. */
  async finish(t: RunTrainerView, elapsedMs: number): Promise<RunResult> {
    this.guard(t, this.config.steps);
    await this.store.saveWeights('final', this.shapes, t.getWeights(), {
      kind: 'final',
      step: this.config.steps,
      configHash: this.hash,
    });
    await this.saveResume(t, elapsedMs);
    const summary = summarize(this.store.readMetrics() as unknown as EvalRow[], {
      steps: this.config.steps,
      evalEvery: this.config.evalEvery,
      backend: this.backend,
      elapsedMs,
    });
    this.store.writeJson('summary.json', summary);
    this.options.onEvent?.({ type: 'finish', summary });
    return { status: 'finished', dir: this.options.dir, step: this.config.steps, summary, config: this.config };
  }

  /** The result for a run that had already finished. */
  alreadyFinished(): RunResult {
    return {
      status: 'already-finished',
      dir: this.options.dir,
      step: this.finished!.steps,
      summary: this.finished!,
      config: this.config,
    };
  }

  /** Releases the folder lock. */
  close(): void {
    this.lock?.release();
    this.lock = null;
  }
}
