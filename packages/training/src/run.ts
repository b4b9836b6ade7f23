import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights, validateArrays, type GrokModel, type NamedArrays, type StoredTensor } from '@grokking-tickets/models';
import { configHash, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { RunFolderError, RunStore } from './runStore.js';
import { summarize, type RunSummary } from './summary.js';
import { getTask } from './tasks.js';
import { Trainer, type EvalRow } from './trainer.js';

/** Progress events of a run, for progress bars and logs. */
export type TrainEvent =
  | { type: 'start'; dir: string; step: number; steps: number; backend: string; resumed: boolean }
  | { type: 'eval'; row: EvalRow; steps: number; elapsedMs: number }
  | { type: 'checkpoint'; name: string; step: number }
  | { type: 'interrupted'; step: number }
  | { type: 'finish'; summary: RunSummary };

/** How to open the run folder: a new run, continue an interrupted one, or overwrite. */
export type RunMode = 'new' | 'resume' | 'force';

/** Options of `runTraining`. */
export interface RunOptions {
  /** A config to resolve (defaults: the paper's dense MLP run). Ignored on resume except to check it. */
  config?: TrainConfigInput;
  /** The run folder. */
  dir: string;
  mode?: RunMode;
  /** Start from these weights instead of the seeded θ0 (tickets: rewound weights). */
  initialWeights?: NamedArrays;
  /** Fixed masks (tickets). */
  masks?: NamedArrays;
  /** Extra provenance stored in config.json (e.g. which dense run a ticket came from). */
  provenance?: Record<string, unknown>;
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

// Yield to the event loop every few steps so Ctrl-C (SIGINT) handlers get to run.
const YIELD_EVERY = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function shapesOf(model: GrokModel): Record<string, number[]> {
  return Object.fromEntries(model.params.map((p) => [p.name, p.shape]));
}

/**
 * Trains one model full-batch and records everything in a run folder; resumable. Metrics logged at
 * step t describe the weights after t updates, and checkpoint `step-t` holds exactly those weights
 * (the reference's off-by-one naming is not copied, spec §9 row 14).
 */
export async function runTraining(options: RunOptions): Promise<RunResult> {
  const store = new RunStore(options.dir);
  const mode = options.mode ?? 'new';
  let config: TrainConfig;
  let resumeState: Awaited<ReturnType<RunStore['loadResume']>> = null;
  let initWeights: NamedArrays;
  let masks: NamedArrays | undefined = options.masks;

  if (mode === 'resume') {
    if (!store.exists()) throw new RunFolderError(`cannot resume: ${options.dir} holds no run (no config.json)`);
    const stored = store.readJson<{ config: TrainConfig; configHash: string }>('config.json');
    config = resolveTrainConfig(stored.config);
    if (configHash(config) !== stored.configHash) throw new RunFolderError(`${store.file('config.json')} does not match its hash; refusing to resume an edited run`);
    if (store.isFinished()) {
      const summary = store.readJson<RunSummary>('summary.json');
      return { status: 'already-finished', dir: options.dir, step: summary.steps, summary, config };
    }
  } else {
    config = resolveTrainConfig(options.config ?? {});
  }

  // Everything that can fail on bad input (backend, model, data) runs before the folder is touched.
  const backend = await initBackend(config.backend);
  const model = createModel(config.model.kind, Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')));
  const data = getTask(String(config.task.name)).load(config.task, config.seed);
  if (model.input !== data.train.kind) throw new RunFolderError(`model "${model.kind}" cannot read the "${config.task.name}" task's inputs`);
  const shapes = shapesOf(model);
  const hash = configHash(config);

  if (mode === 'resume') {
    const init = await store.loadWeights('init');
    initWeights = init.weights;
    masks = Object.keys(init.masks).length > 0 ? init.masks : undefined;
    resumeState = await store.loadResume();
  } else {
    if (options.initialWeights) validateArrays(model, options.initialWeights, 'weights');
    if (masks) validateArrays(model, masks, 'masks');
    store.create(mode === 'force');
  }

  if (mode !== 'resume') {
    initWeights = options.initialWeights ?? initialWeights(model, config.seed);
    // A masked run starts from θ0 ⊙ m: pruned weights are stored as exact zeros from the start.
    if (masks) initWeights = Object.fromEntries(Object.entries(initWeights).map(([k, w]) => [k, masks![k] ? w.map((x, i) => (masks![k]![i]! ? x : 0)) : w]));
    store.writeJson('config.json', {
      config,
      configHash: hash,
      provenance: options.provenance ?? null,
      environment: { backend: backend.name, backendNotes: backend.notes, node: process.version, platform: `${process.platform}-${process.arch}` },
      parameters: model.params.map((p) => ({ name: p.name, shape: p.shape, initStd: p.initStd, prunable: p.prunable })),
    });
    const extra: Record<string, StoredTensor> = {};
    for (const [k, arr] of Object.entries(data.artifacts)) extra[`data/${k}`] = { dtype: 'I32', shape: [arr.length], data: arr };
    if (masks) for (const [k, m] of Object.entries(masks)) extra[`mask/${k}`] = { dtype: 'F32', shape: shapes[k]!, data: m };
    await store.saveWeights('init', shapes, initWeights!, { kind: 'init', step: 0, seed: config.seed, model: config.model, configHash: hash }, extra);
  }

  const trainer = new Trainer({ model, weights: initWeights!, masks, optimizer: config.optimizer, train: data.train, test: data.test });
  let elapsedMs = 0;
  try {
    if (resumeState) {
      if (resumeState.meta.configHash !== hash) throw new RunFolderError(`resume state in ${options.dir} belongs to a different config`);
      trainer.restore(resumeState.weights, resumeState.opt);
      elapsedMs = resumeState.meta.elapsedMs;
    }
    const startStep = trainer.updates;
    store.truncateMetrics(startStep);
    options.onEvent?.({ type: 'start', dir: options.dir, step: startStep, steps: config.steps, backend: backend.name, resumed: startStep > 0 });
    const checkpointAt = new Set(config.checkpointSteps);
    const saveResume = async () =>
      store.saveResume(shapes, trainer.getWeights(), trainer.getOptimizerState(), { step: trainer.updates, configHash: hash, elapsedMs });

    let t0 = performance.now();
    for (let step = startStep; ; step++) {
      if (step % config.evalEvery === 0 || step === config.steps) {
        const row = trainer.evaluate();
        store.appendMetrics([row]);
        elapsedMs += performance.now() - t0;
        t0 = performance.now();
        options.onEvent?.({ type: 'eval', row, steps: config.steps, elapsedMs });
      }
      if (step === config.steps) break;
      if (step > startStep && (step % config.checkpointEvery === 0 && config.checkpointEvery > 0 || checkpointAt.has(step))) {
        await store.saveWeights(`step-${String(step).padStart(6, '0')}`, shapes, trainer.getWeights(), { kind: 'step', step, configHash: hash });
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
      trainer.step();
    }
    elapsedMs += performance.now() - t0;
    await store.saveWeights('final', shapes, trainer.getWeights(), { kind: 'final', step: config.steps, configHash: hash });
    await saveResume();
    const summary = summarize(store.readMetrics(), { steps: config.steps, evalEvery: config.evalEvery, backend: backend.name, elapsedMs });
    store.writeJson('summary.json', summary);
    options.onEvent?.({ type: 'finish', summary });
    return { status: 'finished', dir: options.dir, step: config.steps, summary, config };
  } finally {
    trainer.dispose();
  }
}
