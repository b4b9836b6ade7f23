import { listModularOps, loadMnist, modularArithmetic } from '@grokking-tickets/datasets';
import type { Batch } from '@grokking-tickets/models';
import { z } from 'zod';
import { parseWith } from './schema.js';

/** Options of a task as they appear in a run's config (`name` selects the registered task). */
export type TaskConfig = { name: string } & Record<string, string | number | boolean>;

/** Training and test data for one task, ready for a model's `prepare`. */
export interface TaskData {
  train: Batch;
  test: Batch;
  numClasses: number;
  /** Extra arrays a run should store to be reproducible (e.g. the `rand` op's table). */
  artifacts: Record<string, Int32Array>;
}

/** A task in the registry: its options (a strict schema with defaults) and a loader. */
export interface TaskDefinition {
  name: string;
  description: string;
  /** The task's options without `name`: a strict zod object whose defaults fill what is not given. */
  options(): z.ZodType<Record<string, string | number | boolean>>;
  /** The model family, number of steps and weight decay the paper pairs with this task. */
  defaultModel: string;
  defaultSteps: number;
  defaultWeightDecay: number;
  /** The kind of batch the task produces; the model must read it. */
  input: 'pairs' | 'images';
  /** Model options implied by the task (e.g. vocab = p), applied unless the user sets them. */
  modelOptions(config: TaskConfig): Record<string, number>;
  /** Number of examples (train + test) and classes, for the memory estimate; cheap, no data loaded. */
  size(config: TaskConfig): { examples: number; classes: number };
  /** Loads data; `seed` is the run seed (the reference's only seed, used for the split). */
  load(config: TaskConfig, seed: number): TaskData;
}

const tasks = new Map<string, TaskDefinition>();

/** Adds a task to the registry. */
export function registerTask(def: TaskDefinition): void {
  tasks.set(def.name, def);
}

/** Registered task names. */
export function listTasks(): string[] {
  return [...tasks.keys()];
}

/** A task definition by name, or a one-line error listing the known tasks. */
export function getTask(name: string): TaskDefinition {
  const def = tasks.get(name);
  if (!def) throw new Error(`unknown task "${name}" (known: ${listTasks().join(', ')})`);
  return def;
}

/** Thrown for invalid task options; one line naming the field. */
export class TaskConfigError extends Error {
  override name = 'TaskConfigError';
  readonly code = 'GT_CONFIG';
}

/** Fills a task config's defaults and rejects unknown keys, wrong types and out-of-range values. */
export function resolveTaskConfig(config: Partial<TaskConfig> & { name: string }): TaskConfig {
  let def: TaskDefinition;
  try {
    def = getTask(config.name);
  } catch (e) {
    throw new TaskConfigError(`task.name: ${(e as Error).message}`);
  }
  const { name: _name, ...options } = config;
  const resolved = parseWith(def.options(), options, (m) => new TaskConfigError(m), 'task');
  return { name: def.name, ...resolved };
}

registerTask({
  name: 'modular',
  description: 'Modular arithmetic (a op b) mod p on token pairs, the reference split (protocol §2)',
  options: () =>
    z.strictObject({
      op: z.enum(listModularOps() as [string, ...string[]]).default('add'),
      p: z.number().int().min(2).max(46340).default(67),
      trainFraction: z.number().gt(0).lt(1).default(0.4),
      symmetric: z.boolean().default(true),
    }),
  defaultModel: 'mlp',
  defaultSteps: 30000,
  defaultWeightDecay: 1,
  input: 'pairs',
  modelOptions: (config) => ({ vocab: Number(config.p) }),
  size: (config) => {
    const p = Number(config.p);
    return { examples: config.symmetric ? (p * (p + 1)) / 2 : p * p, classes: p };
  },
  load(config, seed) {
    const ds = modularArithmetic({
      op: String(config.op),
      p: Number(config.p),
      trainFraction: Number(config.trainFraction),
      seed,
      symmetric: Boolean(config.symmetric),
    });
    const batch = (s: typeof ds.train): Batch => ({ kind: 'pairs', a: s.a, b: s.b, labels: s.labels });
    const artifacts: Record<string, Int32Array> = {};
    if (ds.table) artifacts.rand_table = ds.table;
    return {
      train: batch(ds.train),
      test: batch(ds.test),
      numClasses: ds.numClasses,
      artifacts,
    };
  },
});

registerTask({
  name: 'mnist',
  description: 'MNIST with a small seeded training subset (Omnigrok-style grokking), protocol §2.4',
  options: () =>
    z.strictObject({
      trainSize: z.number().int().min(1).max(60000).default(1000),
      codeCompat: z.boolean().default(false),
      dataDir: z.string().min(1).optional(),
    }),
  defaultModel: 'mnist-mlp',
  defaultSteps: 100000,
  defaultWeightDecay: 0.1,
  input: 'images',
  modelOptions: () => ({}),
  // Training images plus the 10 000 (or, code-compatible, 60 000) evaluation images.
  size: (config) => ({ examples: Number(config.trainSize) + (config.codeCompat ? 60000 : 10000), classes: 10 }),
  load(config, seed) {
    const ds = loadMnist({
      dir: config.dataDir ? String(config.dataDir) : undefined,
      trainSize: Number(config.trainSize),
      seed,
      codeCompat: Boolean(config.codeCompat),
    });
    const batch = (s: typeof ds.train): Batch => ({
      kind: 'images',
      images: s.images,
      dim: s.width * s.height,
      labels: s.labels,
    });
    return { train: batch(ds.train), test: batch(ds.test), numClasses: 10, artifacts: {} };
  },
});
