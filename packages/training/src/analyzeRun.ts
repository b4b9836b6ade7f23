import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@grokking-tickets/backend';
import { firstStepReaching, magnitudeMask, maskStats, type KeptCount } from '@grokking-tickets/grokking-metrics';
import {
  applyMasks,
  createModel,
  denseMasks,
  disposeBatch,
  toTensors,
  type GrokModel,
  type NamedArrays,
  type PairBatch,
} from '@grokking-tickets/models';
import { RunFolderError, RunStore, writeFileAtomic } from '@grokking-tickets/run-store';
import { allPairs, analyzeState, type AnalysisFields } from './analysis.js';
import { configHash, resolveTrainConfig, type TrainConfig } from './config.js';
import {
  StructureTracker,
  graphEntry,
  networkOf,
  randomLike,
  GRAPH_FORMAT,
  type GraphFile,
  type GraphFileEntry,
  type StructureFile,
} from './structure.js';
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
  /** Compute the structural dynamics of a dense run (`structure.json`; default true; runs with masks have none). */
  structure?: boolean;
  /** Compute the graph metrics of the run's masks (`graph.json`; default true; MLP models only). */
  graph?: boolean;
  /** Pruning rate of the tickets taken at each checkpoint (default 0.6, the grokking ticket's). */
  pruningRate?: number;
  /** k of the weight sparsity #{|w| < k·max|w|} / N (default 0.2, the reference's density.ipynb). */
  sparsityThreshold?: number;
  /**
   * Step of the checkpoint whose ticket is the memorisation ticket of the graph metrics (it must be a saved
   * checkpoint). Default: the first checkpoint after the first logged step with train accuracy ≥ 0.99, if
   * test accuracy there is still below 0.5.
   */
  memorizationStep?: number;
  /**
   * The structural change counts intervals starting at or after this step (default: the first logged step
   * with train accuracy ≥ 0.99), e.g. to leave out the fast change that follows memorisation.
   */
  changeAfter?: number;
  /** Seed of the random masks of the graph metrics (default 0). */
  graphSeed?: number;
  /** Called before each mask's graph metrics, for progress output. */
  onGraph?: (name: string) => void;
}

/** Result of {@link analyzeRun}. */
export interface AnalyzeRunResult {
  dir: string;
  /** The file written (null with `write: false`). */
  file: string | null;
  /** One row per checkpoint, in step order. */
  rows: AnalysisRow[];
  /** The structural dynamics (null for a run with masks, or with `structure: false`) and its file. */
  structure: StructureFile | null;
  structureFile: string | null;
  /** The graph metrics (null for models that are not MLPs, or with `graph: false`) and its file. */
  graph: GraphFile | null;
  graphFile: string | null;
}

/** Step order of checkpoint names: `init` first, `step-NNNNNN` by number, `final` last. */
function checkpointStep(name: string, steps: number): number | null {
  if (name === 'init') return 0;
  if (name === 'final') return steps;
  const m = /^step-(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * The checkpoint of the memorisation ticket: the given step (which must be a checkpoint), else the first
 * checkpoint after the first logged step with train accuracy ≥ 0.99, when test accuracy there (the last
 * logged row at or before it) is still below 0.5; null when there is none.
 */
function memorizationCheckpoint(
  named: Array<{ name: string; step: number }>,
  metrics: ReadonlyArray<{ step: number }>,
  given: number | undefined,
  where: string,
): { step: number; rule: string } | null {
  if (given !== undefined) {
    if (!named.some((c) => c.step === given))
      throw new RunFolderError(
        `${where} holds no checkpoint at step ${given} for the memorisation ticket (steps: ${named.map((c) => c.step).join(', ')})`,
      );
    return { step: given, rule: 'the step asked for' };
  }
  const memorized = firstStepReaching(metrics, 'train_acc', 0.99);
  if (memorized === null) return null;
  const c = named.find((x) => x.step >= memorized && x.step > 0);
  if (!c) return null;
  let testAcc: unknown = null;
  for (const row of metrics) {
    if (row.step > c.step) break;
    testAcc = (row as Record<string, unknown>).test_acc;
  }
  if (typeof testAcc !== 'number' || testAcc >= 0.5) return null;
  return {
    step: c.step,
    rule: `the first checkpoint after train accuracy reached 99 % at step ${memorized}; test accuracy ${(100 * testAcc).toFixed(1)} %`,
  };
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
 * For a dense run (no masks) it also writes `<dir>/structure.json` ({@link StructureFile}): the ticket
 * (global magnitude mask at `pruningRate`) of every checkpoint, its Jaccard distance to the last
 * checkpoint's ticket and to the previous checkpoint's, the weight sparsity, and the largest structural
 * change next to the steps at which test accuracy reaches 50 % and 95 %. The resolution is the checkpoint
 * interval (`checkpointEvery`, 2 000 steps by default). For MLP models it writes `<dir>/graph.json`
 * ({@link GraphFile}): the graph metrics of the grokking ticket, the memorisation ticket and two random
 * masks with the ticket's counts (a dense run), or of the run's own mask (a masked run).
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
  const pruningRate = options.pruningRate ?? 0.6;
  if (!(pruningRate >= 0 && pruningRate < 1))
    throw new RangeError(`pruning rate must be in [0, 1), got ${pruningRate}`);
  const sparsityThreshold = options.sparsityThreshold ?? 0.2;
  if (!(sparsityThreshold >= 0 && sparsityThreshold <= 1))
    throw new RangeError(`sparsity threshold must be in [0, 1], got ${sparsityThreshold}`);
  const network = (options.graph ?? true) ? networkOf(config) : null;
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
    // Structural dynamics of a dense run: every checkpoint's ticket against the last checkpoint's.
    const metricsRows = store.readMetricsFile().rows;
    const prunable = model.params.filter((p) => p.prunable).map((p) => p.name);
    let tracker: StructureTracker | null = null;
    let memorization: { step: number; rule: string } | null = null;
    if (!masks && ((options.structure ?? true) || network)) {
      const last = named[named.length - 1]!;
      const lastWeights = last.name === 'init' ? init.weights : (await store.loadWeights(last.name, expect)).weights;
      memorization = memorizationCheckpoint(named, metricsRows, options.memorizationStep, store.file('checkpoints'));
      const memStep = memorization?.step ?? null;
      tracker = new StructureTracker(
        { checkpoint: last.name, step: last.step, mask: magnitudeMask(lastWeights, pruningRate, prunable) },
        pruningRate,
        prunable,
        sparsityThreshold,
        (step) => step === memStep,
      );
    }
    const rows: AnalysisRow[] = [];
    for (const [index, { name, step }] of named.entries()) {
      const weights = name === 'init' ? init.weights : (await store.loadWeights(name, expect)).weights;
      tracker?.add(name, step, weights);
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
    const structure = tracker && (options.structure ?? true) ? tracker.finish(metricsRows, options.changeAfter) : null;

    // Graph metrics: a dense run's grokking ticket, memorisation ticket and two random masks; a masked run's mask.
    let graph: GraphFile | null = null;
    if (network) {
      const entries: GraphFileEntry[] = [];
      const measure = (name: string, source: string, step: number | null, mask: NamedArrays) => {
        options.onGraph?.(name);
        entries.push(graphEntry(name, source, step, mask, network));
      };
      const seed = options.graphSeed ?? 0;
      if (tracker) {
        const final = tracker.final;
        measure(
          'grokking ticket',
          `magnitude mask of ${final.checkpoint} (step ${final.step}), pruning rate ${pruningRate}`,
          final.step,
          final.mask,
        );
        const mem = memorization ? tracker.kept.get(memorization.step) : undefined;
        if (memorization && mem)
          measure(
            'memorisation ticket',
            `magnitude mask of step ${memorization.step} (${memorization.rule}), pruning rate ${pruningRate}`,
            memorization.step,
            mem,
          );
        measure(
          'random (per-tensor counts)',
          `the grokking ticket's entries permuted within each tensor, seed ${seed}`,
          null,
          randomLike(final.mask, seed, true),
        );
        measure(
          'random (uniform)',
          `the grokking ticket's entries permuted over all tensors, seed ${seed}`,
          null,
          randomLike(final.mask, seed, false),
        );
      } else if (masks) {
        measure('run mask', "the run's own mask (init checkpoint)", null, { ...denseMasks(model), ...masks });
      }
      graph = { format: GRAPH_FORMAT, network, masks: entries };
    }

    let file: string | null = null;
    let structureFile: string | null = null;
    let graphFile: string | null = null;
    if (options.write ?? true) {
      const write = (name: string, text: string): string => {
        const f = store.file(name);
        try {
          writeFileAtomic(f, text);
        } catch (e) {
          throw new RunFolderError(`cannot write ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
            cause: e,
          });
        }
        return f;
      };
      file = write('analysis.jsonl', rows.map((r) => JSON.stringify(r) + '\n').join(''));
      if (structure) structureFile = write('structure.json', JSON.stringify(structure, null, 1) + '\n');
      if (graph) graphFile = write('graph.json', JSON.stringify(graph, null, 1) + '\n');
    }
    return { dir, file, rows, structure, structureFile, graph, graphFile };
  } finally {
    if (prepared) disposeBatch(prepared);
    tf.dispose(Object.values(maskTensors));
    lock.release();
  }
}
