import { createModel, type GrokModel, type NamedArrays } from '@grokking-tickets/models';
import { RunFolderError, RunStore, type RunRecord } from '@grokking-tickets/run-store';
import {
  codeDifference,
  configHash,
  resolveTrainConfig,
  type RunSummary,
  type TrainConfig,
} from '@grokking-tickets/training';

/** A problem with an experiment's inputs or state (not with its config): exit code 1 in the CLI. */
export class ExperimentError extends Error {
  override name = 'ExperimentError';
  readonly code: string = 'GT_EXPERIMENT';
}

/** The checkpoint name for a step: `init` (0), `final` (the last step), else `step-NNNNNN`. */
export function checkpointFor(step: number | 'final' | 'init', steps: number): string {
  if (step === 'init' || step === 0) return 'init';
  if (step === 'final' || step === steps) return 'final';
  return `step-${String(step).padStart(6, '0')}`;
}

/** Builds a model from a resolved training config. */
export function modelOf(config: TrainConfig): GrokModel {
  return createModel(config.model.kind, Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')));
}

/** A finished dense run, verified, with the weights a ticket needs. */
export interface DenseSource {
  dir: string;
  config: TrainConfig;
  configHash: string;
  summary: RunSummary;
  model: GrokModel;
  theta0: NamedArrays;
  scored: NamedArrays;
  rewind: NamedArrays;
  scoredCheckpoint: string;
  /** Things worth telling the user (e.g. the run was made by other code versions). */
  notes: string[];
}

/**
 * Opens a dense run that a ticket experiment reads, and verifies everything the experiment will use
 * before anything is trained: it is a finished run whose config matches its hash (and still
 * resolves to it with this code), its metrics parse line by line and end at its last step, and its
 * `init`, scored and rewind checkpoints exist, carry its config hash, have the model's shapes and
 * pass their checksums and finiteness checks.
 */
export async function openDenseRun(
  dir: string,
  fromStep: number | 'final',
  rewindStep: number | 'init',
): Promise<DenseSource> {
  const store = new RunStore(dir);
  if (!store.exists()) throw new ExperimentError(`dense run folder ${dir} holds no run (no config.json)`);
  if (!store.isFinished())
    throw new ExperimentError(
      `dense run ${dir} is not finished; resume it first (grokking-tickets train --out ${dir} --resume)`,
    );
  let record: RunRecord<TrainConfig>;
  let config: TrainConfig;
  try {
    record = store.readRecord<TrainConfig>();
    config = resolveTrainConfig(record.config);
  } catch (e) {
    throw new ExperimentError(`dense run ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const hash = configHash(config);
  if (hash !== record.configHash)
    throw new ExperimentError(
      `dense run ${dir} resolves to a different config with this code (hash ${hash}, stored ${record.configHash}); it was made by other code`,
    );
  const notes: string[] = [];
  const diff = codeDifference(record.code);
  if (diff) notes.push(`dense run ${dir}: ${diff}`);
  const summary = store.readJson<RunSummary>('summary.json');
  const rows = store.readMetrics();
  if (rows.length === 0)
    throw new ExperimentError(`dense run ${dir} has no metrics (${store.file('metrics.jsonl')} is missing or empty)`);
  if (rows[rows.length - 1]!.step !== config.steps || summary?.steps !== config.steps) {
    throw new ExperimentError(
      `dense run ${dir}: its metrics end at step ${rows[rows.length - 1]!.step} and its summary says ${summary?.steps}, but it has ${config.steps} steps`,
    );
  }
  const model = modelOf(config);
  const expect = { configHash: hash, shapes: Object.fromEntries(model.params.map((p) => [p.name, p.shape])) };
  const available = store.checkpointNames();
  const load = async (name: string) => {
    if (!available.includes(name))
      throw new ExperimentError(
        `dense run ${dir} has no checkpoint "${name}" (available: ${available.join(', ') || 'none'})`,
      );
    try {
      return (await store.loadWeights(name, expect)).weights;
    } catch (e) {
      if (e instanceof RunFolderError) throw new ExperimentError(`dense run ${dir}: ${e.message}`, { cause: e });
      throw e;
    }
  };
  const scoredCheckpoint = checkpointFor(fromStep, config.steps);
  const theta0 = await load('init');
  const scored = await load(scoredCheckpoint);
  const rewindName = checkpointFor(rewindStep, config.steps);
  const rewind = rewindName === 'init' ? theta0 : await load(rewindName);
  return { dir, config, configHash: hash, summary, model, theta0, scored, rewind, scoredCheckpoint, notes };
}
