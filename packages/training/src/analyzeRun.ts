import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@grokking-tickets/backend';
import { maskStats, type KeptCount } from '@grokking-tickets/grokking-metrics';
import {
  applyMasks,
  createModel,
  disposeBatch,
  toTensors,
  type GrokModel,
  type NamedArrays,
  type PairBatch,
} from '@grokking-tickets/models';
import { RunFolderError, RunStore, writeFileAtomic } from '@grokking-tickets/run-store';
import { allPairs, analyzeState, type AnalysisFields } from './analysis.js';
import { configHash, resolveTrainConfig, type TrainConfig } from './config.js';
import { getTask } from './tasks.js';

/** The mask statistics of a masked run (see `maskStats` in @grokking-tickets/grokking-metrics). */
export interface RunMaskStats {
  kept: number;
  total: number;
  keptFraction: number;
  perTensor: Record<string, KeptCount>;
}

/**
 * One line of a run's `analysis.jsonl`: the analysis of one checkpoint. `step` is the number of
 * updates the checkpoint's weights have had (0 for `init`); the fields are those a training run
 * logs every `analysisEvery` steps (absent for models without a token axis, MNIST); `maskStats`
 * is on the `init` row of a masked run (the masks are stored there and never change).
 */
export type AnalysisRow = { step: number; checkpoint: string; maskStats?: RunMaskStats } & Partial<AnalysisFields>;

/** Options of {@link analyzeRun}. */
export interface AnalyzeRunOptions {
  /** tfjs backend for the logits of the restricted loss (default: the run's configured backend). */
  backend?: TrainConfig['backend'];
  /** Write `<run>/analysis.jsonl` (default true); false only computes the rows. */
  write?: boolean;
  /** Called after each checkpoint, for progress output. */
  onCheckpoint?: (row: AnalysisRow, index: number, count: number) => void;
}

/** Result of {@link analyzeRun}. */
export interface AnalyzeRunResult {
  dir: string;
  /** The file written (null with `write: false`). */
  file: string | null;
  /** One row per checkpoint, in step order. */
  rows: AnalysisRow[];
}

/** Step order of checkpoint names: `init` first, `step-NNNNNN` by number, `final` last. */
function checkpointStep(name: string, steps: number): number | null {
  if (name === 'init') return 0;
  if (name === 'final') return steps;
  const m = /^step-(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

function buildModel(config: TrainConfig): GrokModel {
  return createModel(config.model.kind, Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')));
}

/**
 * The Fourier analysis of every checkpoint of a finished (or interrupted) run folder, the same
 * fields a training run adds to its metrics rows every `analysisEvery` steps, so that runs trained
 * without analysis (or with a coarse one) can be analysed and reported afterwards.
 *
 * Every checkpoint (`init`, `step-NNNNNN`, `final`) is verified through `RunStore.loadWeights` with
 * the run's config hash and parameter shapes; the masks come from the `init` checkpoint. For
 * (a + b) mod p the restricted and excluded losses use the model's logits on all p² pairs, computed
 * on the tfjs backend exactly as the trainer does (effective weights W ⊙ M, the model's fast
 * forward). The rows are written atomically to `<dir>/analysis.jsonl` while the folder is locked
 * (a run that is training holds the lock, and is refused).
 *
 * @example
 * ```ts
 * const { file, rows } = await analyzeRun('runs/dense-s0');
 * console.log(file, rows.map((r) => [r.step, r.freq_entropy_in]));
 * ```
 */
export async function analyzeRun(dir: string, options: AnalyzeRunOptions = {}): Promise<AnalyzeRunResult> {
  const store = new RunStore(dir);
  if (!store.exists()) throw new RunFolderError(`${dir} holds no run (no config.json)`);
  const record = store.readRecord<TrainConfig>();
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(record.config);
  } catch (e) {
    throw new RunFolderError(`${store.file('config.json')}: ${(e as Error).message}`, { cause: e });
  }
  const hash = configHash(config);
  if (hash !== record.configHash)
    throw new RunFolderError(
      `${store.file('config.json')} resolves to a different config with this code (hash ${hash}, stored ${record.configHash}); it was made by other code`,
    );
  const named = store
    .checkpointNames()
    .map((name) => ({ name, step: checkpointStep(name, config.steps) }))
    .filter((c): c is { name: string; step: number } => c.step !== null)
    .sort((a, b) => a.step - b.step || (a.name === 'final' ? 1 : -1));
  if (named.length === 0)
    throw new RunFolderError(`${store.file('checkpoints')} holds no checkpoints; nothing to analyse`);
  if (named[0]!.name !== 'init')
    throw new RunFolderError(`${store.file('checkpoints', 'init.safetensors')} is missing: it holds the run's masks`);

  const model = buildModel(config);
  const expect = { configHash: hash, shapes: Object.fromEntries(model.params.map((p) => [p.name, p.shape])) };
  const lock = store.lock('grokking-tickets analyze');
  let prepared: ReturnType<GrokModel['prepare']> | null = null;
  let maskTensors: Record<string, tf.Tensor> = {};
  try {
    const init = await store.loadWeights('init', expect);
    const masks: NamedArrays | undefined = Object.keys(init.masks).length > 0 ? init.masks : undefined;
    const task = config.task;
    // The restricted loss is defined for (a + b) mod p (its key-frequency directions are cos/sin w(a+b)).
    let train: PairBatch | null = null;
    let pairs: PairBatch | null = null;
    if (task.name === 'modular' && task.op === 'add' && model.input === 'pairs') {
      await initBackend(options.backend ?? config.backend);
      const data = getTask('modular').load(task, config.seed);
      if (data.train.kind === 'pairs') {
        train = data.train;
        pairs = allPairs(Number(task.p));
        prepared = model.prepare(pairs);
        maskTensors = masks ? toTensors(model, masks) : {};
      }
    }
    const rows: AnalysisRow[] = [];
    for (const [index, { name, step }] of named.entries()) {
      const weights = name === 'init' ? init.weights : (await store.loadWeights(name, expect)).weights;
      let logits: Float32Array | undefined;
      if (prepared) {
        const batch = prepared;
        const out = tf.tidy(() => model.forward(applyMasks(toTensors(model, weights), maskTensors), batch));
        try {
          logits = out.dataSync() as Float32Array;
        } finally {
          out.dispose();
        }
      }
      const fields = analyzeState(model, weights, masks, logits && train ? { logits, train } : undefined);
      const row: AnalysisRow = { step, checkpoint: name, ...(fields ?? {}) };
      if (name === 'init' && masks) row.maskStats = maskStats(masks);
      rows.push(row);
      options.onCheckpoint?.(row, index, named.length);
    }
    let file: string | null = null;
    if (options.write ?? true) {
      file = store.file('analysis.jsonl');
      try {
        writeFileAtomic(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
      } catch (e) {
        throw new RunFolderError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
          cause: e,
        });
      }
    }
    return { dir, file, rows };
  } finally {
    if (prepared) disposeBatch(prepared);
    tf.dispose(Object.values(maskTensors));
    lock.release();
  }
}
