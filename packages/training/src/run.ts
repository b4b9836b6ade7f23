import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights, validateArrays, type GrokModel, type NamedArrays } from '@grokking-tickets/models';
import { RunFolderError, RunStore, type RunRecord, type StoredTensor } from '@grokking-tickets/run-store';
import { ConfigError, checkResources, configHash, mergeInput, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { codeDifference, codeProvenance } from './provenance.js';
import { summarize, type RunSummary } from './summary.js';
import { getTask } from './tasks.js';
import { Trainer, type EvalRow } from './trainer.js';

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

/** Options of `runTraining`. */
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

// Yield to the event loop every few steps so Ctrl-C (SIGINT) handlers get to run.
const YIELD_EVERY = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function shapesOf(model: GrokModel): Record<string, number[]> {
  return Object.fromEntries(model.params.map((p) => [p.name, p.shape]));
}

function buildModel(config: TrainConfig): GrokModel {
  return createModel(config.model.kind, Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')));
}

/** Rows a run must have logged before `step`: every `evalEvery` updates from 0. */
function metricsCover(rows: readonly { step: number }[], step: number, evalEvery: number): boolean {
  const expected = Math.ceil(step / evalEvery);
  return rows.length === expected && rows.every((r, i) => r.step === i * evalEvery);
}

const masked = (w: NamedArrays, masks: NamedArrays | undefined): NamedArrays =>
  masks ? Object.fromEntries(Object.entries(w).map(([k, v]) => [k, masks[k] ? v.map((x, i) => (masks[k]![i] ? x : 0)) : v])) : w;

/**
 * Trains one model full-batch and records everything in a run folder; resumable. Metrics logged at
 * step t describe the weights after t updates, and checkpoint `step-t` holds exactly those weights
 * (the reference's off-by-one naming is not copied, spec §9 row 14).
 *
 * Everything that can be refused is checked before the folder is touched: the config (schema,
 * memory), the backend, the initial weights and masks. The folder is locked while the run writes
 * it. On resume every stored file is verified (config against its hash and against this code's
 * package versions, checkpoints by checksum, the resume state by range, the metrics line by line);
 * metrics that do not cover the resume point make the run restart from step 0, which gives the same
 * rows again. A NaN or infinity in the weights, moments or losses stops the run at the next
 * evaluation with a {@link NonFiniteError} naming the step and the tensor; the last good state stays.
 */
export async function runTraining(options: RunOptions): Promise<RunResult> {
  const store = new RunStore(options.dir);
  const mode = options.mode ?? 'new';
  const notice = (message: string) => options.onEvent?.({ type: 'notice', message });

  let config: TrainConfig;
  if (mode === 'resume') {
    if (!store.exists()) throw new RunFolderError(`cannot resume: ${options.dir} holds no run (no config.json)`);
    config = resolveTrainConfig(store.readRecord<TrainConfig>().config);
  } else {
    config = resolveTrainConfig(options.config ?? {});
  }
  checkResources(config);
  const hash = configHash(config);
  const model = buildModel(config);
  if (options.initialWeights) validateArrays(model, options.initialWeights, 'weights');
  if (options.masks) validateArrays(model, options.masks, 'masks');
  const backend = await initBackend(config.backend);
  const shapes = shapesOf(model);

  const lock = store.lock(options.command ?? 'grokking-tickets train');
  let trainer: Trainer | undefined;
  try {
    let resumeState: Awaited<ReturnType<RunStore['loadResume']>> = null;
    let initWeights: NamedArrays;
    let masks: NamedArrays | undefined = options.masks;
    const expect = { configHash: hash, shapes };

    if (mode === 'resume') {
      // Read again under the lock: another process may have changed it since the first look.
      const record = store.readRecord<TrainConfig>();
      if (record.configHash !== hash) {
        throw new RunFolderError(`${store.file('config.json')} resolves to a different config with this code (hash ${hash}, stored ${record.configHash}); it was made by other code`);
      }
      if (options.config !== undefined && configHash(resolveTrainConfig(mergeInput(record.config, options.config) as TrainConfigInput)) !== hash) {
        throw new ConfigError(`--resume: the given settings differ from the config stored in ${options.dir}; drop the changed settings to resume it as it was`);
      }
      const diff = codeDifference(record.code);
      if (diff) throw new RunFolderError(`cannot resume ${options.dir}: ${diff}; start it again with --force`);
      if (store.isFinished()) {
        const summary = store.readJson<RunSummary>('summary.json');
        return { status: 'already-finished', dir: options.dir, step: summary.steps, summary, config };
      }
    } else {
      store.prepareNew(mode === 'force');
    }

    const data = getTask(String(config.task.name)).load(config.task, config.seed);
    if (model.input !== data.train.kind) throw new RunFolderError(`model "${model.kind}" cannot read the "${config.task.name}" task's inputs`);

    const writeInit = async (weights: NamedArrays) => {
      const extra: Record<string, StoredTensor> = {};
      for (const [k, arr] of Object.entries(data.artifacts)) extra[`data/${k}`] = { dtype: 'I32', shape: [arr.length], data: arr };
      if (masks) for (const [k, m] of Object.entries(masks)) extra[`mask/${k}`] = { dtype: 'F32', shape: shapes[k]!, data: m };
      await store.saveWeights('init', shapes, weights, { kind: 'init', step: 0, seed: config.seed, model: config.model, configHash: hash }, extra);
    };

    if (mode === 'resume') {
      if (!store.checkpointNames().includes('init')) {
        // Killed after config.json and before the init checkpoint: θ0 is re-derived, nothing was trained.
        initWeights = masked(options.initialWeights ?? initialWeights(model, config.seed), masks);
        await writeInit(initWeights);
        notice(`${options.dir}: init checkpoint was missing; written again`);
      } else {
        const init = await store.loadWeights('init', expect);
        if (options.verifyInit) {
          const planned = masked(options.initialWeights ?? initialWeights(model, config.seed), options.masks);
          const differs = (a: NamedArrays, b: NamedArrays) => Object.keys({ ...a, ...b }).find((k) => !a[k] || !b[k] || a[k]!.length !== b[k]!.length || a[k]!.some((x, i) => !Object.is(x, b[k]![i])));
          const bad = differs(planned, init.weights) ?? differs(options.masks ?? {}, init.masks);
          if (bad) throw new RunFolderError(`${store.file('checkpoints', 'init.safetensors')}: "${bad}" differs from what the experiment plans for this run (edited or from another experiment); start the experiment again with --force`);
        }
        initWeights = init.weights;
        masks = Object.keys(init.masks).length > 0 ? init.masks : undefined;
      }
      resumeState = await store.loadResume({ ...expect, steps: config.steps });
    } else {
      // A masked run starts from θ0 ⊙ m: pruned weights are stored as exact zeros from the start.
      initWeights = masked(options.initialWeights ?? initialWeights(model, config.seed), masks);
      store.writeRecord({
        config,
        configHash: hash,
        provenance: options.provenance ?? null,
        code: { ...codeProvenance() },
        environment: { backend: backend.name, backendNotes: backend.notes },
        parameters: model.params.map((p) => ({ name: p.name, shape: p.shape, initStd: p.initStd, prunable: p.prunable })),
      } satisfies RunRecord);
      await writeInit(initWeights);
    }

    trainer = new Trainer({ model, weights: initWeights, masks, optimizer: config.optimizer, train: data.train, test: data.test });
    let elapsedMs = 0;
    const metrics = store.readMetricsFile();
    if (metrics.tornLine !== null) notice(`${store.file('metrics.jsonl')}:${metrics.tornLine}: dropped a line cut short by an interruption`);
    if (resumeState) {
      const before = metrics.rows.filter((r) => r.step < resumeState!.meta.step);
      if (metricsCover(before, resumeState.meta.step, config.evalEvery)) {
        trainer.restore(resumeState.weights, resumeState.opt);
        elapsedMs = resumeState.meta.elapsedMs;
      } else {
        notice(`${store.file('metrics.jsonl')} does not hold every row before step ${resumeState.meta.step}; restarting from step 0 (the rows come out the same)`);
      }
    }
    const startStep = trainer.updates;
    store.writeMetrics(metrics.rows.filter((r) => r.step < startStep));
    options.onEvent?.({ type: 'start', dir: options.dir, step: startStep, steps: config.steps, backend: backend.name, resumed: startStep > 0 });
    const checkpointAt = new Set(config.checkpointSteps);
    const t = trainer;
    const guard = (step: number, row?: EvalRow) => {
      const tensor = t.firstNonFinite();
      const lossBad = row && ![row.train_loss, row.test_loss].every(Number.isFinite);
      if (tensor || lossBad) {
        throw new NonFiniteError(
          `training diverged at step ${step}: ${tensor ? `${tensor} holds NaN or infinite values` : `the ${Number.isFinite(row!.train_loss) ? 'test' : 'train'} loss is ${Number.isFinite(row!.train_loss) ? row!.test_loss : row!.train_loss}`}; the run stops here and its last good state is kept`,
        );
      }
    };
    const saveResume = async () => {
      guard(t.updates);
      await store.saveResume(shapes, t.getWeights(), t.getOptimizerState(), { step: t.updates, configHash: hash, elapsedMs });
    };

    let t0 = performance.now();
    for (let step = startStep; ; step++) {
      if (step % config.evalEvery === 0 || step === config.steps) {
        const row = t.evaluate();
        guard(step, row);
        store.appendMetrics([row]);
        elapsedMs += performance.now() - t0;
        t0 = performance.now();
        options.onEvent?.({ type: 'eval', row, steps: config.steps, elapsedMs });
      }
      if (step === config.steps) break;
      if (step > startStep && ((step % config.checkpointEvery === 0 && config.checkpointEvery > 0) || checkpointAt.has(step))) {
        guard(step);
        await store.saveWeights(`step-${String(step).padStart(6, '0')}`, shapes, t.getWeights(), { kind: 'step', step, configHash: hash });
        options.onEvent?.({ type: 'checkpoint', name: `step-${step}`, step });
      }
      if (step > startStep && step % config.resumeEvery === 0) await saveResume();
      if (step % YIELD_EVERY === 0) {
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          elapsedMs += performance.now() - t0;
          await saveResume();
          options.onEvent?.({ type: 'interrupted', step });
          return { status: 'interrupted', dir: options.dir, step, config };
        }
      }
      t.step();
    }
    elapsedMs += performance.now() - t0;
    await store.saveWeights('final', shapes, t.getWeights(), { kind: 'final', step: config.steps, configHash: hash });
    await saveResume();
    const summary = summarize(store.readMetrics() as unknown as EvalRow[], { steps: config.steps, evalEvery: config.evalEvery, backend: backend.name, elapsedMs });
    store.writeJson('summary.json', summary);
    options.onEvent?.({ type: 'finish', summary });
    return { status: 'finished', dir: options.dir, step: config.steps, summary, config };
  } finally {
    trainer?.dispose();
    lock.release();
  }
}
