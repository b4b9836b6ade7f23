import { createHash } from 'node:crypto';
import { createModel, getModelDefinition } from '@grokking-tickets/models';
import { PAPER_ADAMW, validateAdamW, type AdamWOptions } from './adamw.js';
import { getTask, resolveTaskConfig, type TaskConfig } from './tasks.js';

/** Everything that defines a training run; `resolveTrainConfig` fills the defaults. */
export interface TrainConfig {
  task: TaskConfig;
  model: { kind: string } & Record<string, string | number | boolean>;
  optimizer: AdamWOptions;
  /** Number of full-batch updates. */
  steps: number;
  /** Evaluate (and log a metrics row) every k updates, plus at 0 and at the end. */
  evalEvery: number;
  /** Save a weights checkpoint every k updates (0: only init and final). */
  checkpointEvery: number;
  /** Extra steps (updates done) at which to save a weights checkpoint. */
  checkpointSteps: number[];
  /** Save the resume state (weights + optimiser) every k updates. */
  resumeEvery: number;
  /** The run seed: split (as the reference) and weight init (our seeded stream). */
  seed: number;
  /** Requested tfjs backend. */
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
}

/** A partial config as users write it (CLI flags or a JSON file). */
export type TrainConfigInput = Partial<Omit<TrainConfig, 'task' | 'model' | 'optimizer'>> & {
  task?: Partial<TaskConfig>;
  model?: Partial<TrainConfig['model']>;
  optimizer?: Partial<AdamWOptions>;
};

/** The paper's dense MLP run on (a+b) mod 67 (spec §4): 30 000 steps, AdamW lr 1e-3, λ 1, seed 0. */
export const PAPER_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  task: { name: 'modular', op: 'add', p: 67, trainFraction: 0.4, symmetric: true },
  model: { kind: 'mlp' },
  optimizer: { ...PAPER_ADAMW },
  steps: 30000,
  evalEvery: 100,
  checkpointEvery: 2000,
  checkpointSteps: [],
  resumeEvery: 1000,
  seed: 0,
  backend: 'auto',
});

const TOP_KEYS = new Set(['task', 'model', 'optimizer', 'steps', 'evalEvery', 'checkpointEvery', 'checkpointSteps', 'resumeEvery', 'seed', 'backend']);
const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Thrown for an invalid training configuration; the message is one line naming the field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function intField(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Fills defaults, validates every field and builds the model once to check its options. When the
 * task changes, the model defaults to the task's usual model (MNIST → mnist-mlp).
 */
export function resolveTrainConfig(input: TrainConfigInput = {}): TrainConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ConfigError('config must be a JSON object');
  for (const key of Object.keys(input)) {
    if (!TOP_KEYS.has(key)) throw new ConfigError(`unknown config field "${key}" (fields: ${[...TOP_KEYS].join(', ')})`);
  }
  const taskName = input.task?.name ?? PAPER_DEFAULTS.task.name;
  let task: TaskConfig;
  try {
    task = resolveTaskConfig({ ...(taskName === PAPER_DEFAULTS.task.name ? PAPER_DEFAULTS.task : {}), ...input.task, name: taskName });
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const taskDef = getTask(taskName);
  const kind = input.model?.kind ?? taskDef.defaultModel;
  let modelInput: string;
  try {
    modelInput = getModelDefinition(kind).input;
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (modelInput !== taskDef.input) throw new ConfigError(`model "${kind}" reads ${modelInput} but task "${taskName}" gives ${taskDef.input}`);
  const model = { ...taskDef.modelOptions(task), ...input.model, kind } as TrainConfig['model'];
  const optimizer = { ...PAPER_ADAMW, weightDecay: taskDef.defaultWeightDecay, ...input.optimizer };
  try {
    validateAdamW(optimizer);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const cfg: TrainConfig = {
    task,
    model,
    optimizer,
    steps: intField('steps', input.steps ?? taskDef.defaultSteps, 1),
    evalEvery: intField('evalEvery', input.evalEvery ?? PAPER_DEFAULTS.evalEvery, 1),
    checkpointEvery: intField('checkpointEvery', input.checkpointEvery ?? PAPER_DEFAULTS.checkpointEvery, 0),
    checkpointSteps: (input.checkpointSteps ?? []).map((s, i) => intField(`checkpointSteps[${i}]`, s, 1)),
    resumeEvery: intField('resumeEvery', input.resumeEvery ?? PAPER_DEFAULTS.resumeEvery, 1),
    seed: intField('seed', input.seed ?? PAPER_DEFAULTS.seed, 0),
    backend: (input.backend ?? 'auto') as TrainConfig['backend'],
  };
  if (!BACKENDS.includes(cfg.backend)) throw new ConfigError(`backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(cfg.backend)}`);
  if (!Array.isArray(cfg.checkpointSteps)) throw new ConfigError('checkpointSteps must be a list of steps');
  try {
    const built = createModel(model.kind, Object.fromEntries(Object.entries(model).filter(([k]) => k !== 'kind')));
    cfg.model = { kind: built.kind, ...built.config };
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return cfg;
}

/** Stable JSON (sorted keys) so equal configs hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Short hash of a resolved config (open_lth style run identity). */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 10);
}
