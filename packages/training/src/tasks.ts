import { loadMnist, modularArithmetic } from '@grokking-tickets/datasets';
import type { Batch } from '@grokking-tickets/models';

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

/** A task in the registry: defaults and a loader. */
export interface TaskDefinition {
  name: string;
  description: string;
  defaults: Record<string, string | number | boolean>;
  /** The model family, number of steps and weight decay the paper pairs with this task. */
  defaultModel: string;
  defaultSteps: number;
  defaultWeightDecay: number;
  /** The kind of batch the task produces; the model must read it. */
  input: 'pairs' | 'images';
  /** Model options implied by the task (e.g. vocab = p), applied unless the user sets them. */
  modelOptions(config: TaskConfig): Record<string, number>;
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

/** Fills a task config's defaults and rejects unknown keys or values of the wrong type. */
export function resolveTaskConfig(config: Partial<TaskConfig> & { name: string }): TaskConfig {
  const def = getTask(config.name);
  const out: TaskConfig = { name: def.name, ...def.defaults };
  for (const [key, value] of Object.entries(config)) {
    if (key === 'name' || value === undefined) continue;
    if (!(key in def.defaults)) throw new Error(`task "${def.name}" has no option "${key}" (options: ${Object.keys(def.defaults).join(', ')})`);
    if (typeof value !== typeof def.defaults[key]) {
      throw new Error(`task "${def.name}" option "${key}" must be a ${typeof def.defaults[key]}, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  return out;
}

registerTask({
  name: 'modular',
  description: 'Modular arithmetic (a op b) mod p on token pairs, the reference split (spec §2)',
  defaults: { op: 'add', p: 67, trainFraction: 0.4, symmetric: true },
  defaultModel: 'mlp',
  defaultSteps: 30000,
  defaultWeightDecay: 1,
  input: 'pairs',
  modelOptions: (config) => ({ vocab: Number(config.p) }),
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
  description: 'MNIST with a small seeded training subset (Omnigrok-style grokking), spec §2.4',
  defaults: { trainSize: 1000, codeCompat: false, dataDir: '' },
  defaultModel: 'mnist-mlp',
  defaultSteps: 100000,
  defaultWeightDecay: 0.1,
  input: 'images',
  modelOptions: () => ({}),
  load(config, seed) {
    const ds = loadMnist({
      dir: config.dataDir ? String(config.dataDir) : undefined,
      trainSize: Number(config.trainSize),
      seed,
      codeCompat: Boolean(config.codeCompat),
    });
    const batch = (s: typeof ds.train): Batch => ({ kind: 'images', images: s.images, dim: s.width * s.height, labels: s.labels });
    return { train: batch(ds.train), test: batch(ds.test), numClasses: 10, artifacts: {} };
  },
});
