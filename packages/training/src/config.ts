import os from 'node:os';
import { createModel, getModelDefinition } from '@grokking-tickets/models';
import { configHash as hashOf } from '@grokking-tickets/run-store';
import { z } from 'zod';
import { PAPER_ADAMW, type AdamWOptions } from './adamw.js';
import { parseWith } from './schema.js';
import { TaskConfigError, getTask, resolveTaskConfig, type TaskConfig } from './tasks.js';

/** Everything that defines a training run; `resolveTrainConfig` fills the defaults. */
export interface TrainConfig {
  task: TaskConfig;
  model: { kind: string } & Record<string, string | number | boolean>;
  optimizer: AdamWOptions;
  /** Number of full-batch updates. */
  steps: number;
  /** Evaluate (and log a metrics row) every k updates, plus at 0 and at the end. */
  evalEvery: number;
  /**
   * Add the Fourier analysis (frequency entropies, Gini, key frequencies) to the evaluation row every k updates (0:
   * never).
   */
  analysisEvery: number;
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

/** The paper's dense MLP run on (a+b) mod 67 (protocol §4): 30 000 steps, AdamW lr 1e-3, λ 1, seed 0. */
export const PAPER_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  task: { name: 'modular', op: 'add', p: 67, trainFraction: 0.4, symmetric: true },
  model: { kind: 'mlp' },
  optimizer: { ...PAPER_ADAMW },
  steps: 30000,
  evalEvery: 100,
  analysisEvery: 1000,
  checkpointEvery: 2000,
  checkpointSteps: [],
  resumeEvery: 1000,
  seed: 0,
  backend: 'auto',
});

/** The most updates a run may ask for (a guard against typos such as an extra zero or two). */
export const MAX_STEPS = 100_000_000;
/** Backends a config may request. */
export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/** Thrown for an invalid training configuration; the message is one line naming the field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Stable identifier: a usage error (exit code 2 in the CLI). */
  readonly code: string = 'GT_CONFIG';
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

/** The optimiser's fields, every one optional in input (PyTorch names and semantics). */
export const optimizerInputSchema = z
  .strictObject({
    lr: z.number().gt(0).max(1e6).meta({ description: 'AdamW learning rate' }),
    beta1: z.number().min(0).lt(1).meta({ description: 'AdamW β1' }),
    beta2: z.number().min(0).lt(1).meta({ description: 'AdamW β2' }),
    eps: z.number().gt(0).max(1).meta({ description: 'AdamW ε' }),
    weightDecay: z.number().min(0).max(1e6).meta({ description: 'AdamW decoupled weight decay λ' }),
  })
  .partial();

/**
 * The shape of a training config as users write it: strict at every depth. Each field's values and
 * range are defined here once, with a description: sweep axes and command-line flags are built
 * from these fields.
 */
export const trainConfigInputSchema = z.strictObject({
  // The task's and the model's own schemas check their fields (with their names).
  task: z.record(z.string(), z.unknown()).optional(),
  model: z.record(z.string(), z.unknown()).optional(),
  optimizer: optimizerInputSchema.optional(),
  steps: int(1, MAX_STEPS).meta({ description: 'full-batch updates' }).optional(),
  evalEvery: int(1, MAX_STEPS).meta({ description: 'evaluate (a metrics row) every n steps' }).optional(),
  analysisEvery: int(0, MAX_STEPS)
    .meta({ description: 'add the Fourier analysis to the metrics row every n steps (0: never)' })
    .optional(),
  checkpointEvery: int(0, MAX_STEPS)
    .meta({ description: 'save weights every n steps (0: init and final only)' })
    .optional(),
  checkpointSteps: z
    .array(int(1, MAX_STEPS))
    .meta({ description: 'extra checkpoint steps, comma-separated' })
    .optional(),
  resumeEvery: int(1, MAX_STEPS).meta({ description: 'save the resume state every n steps' }).optional(),
  seed: int(0, 2 ** 32 - 1)
    .meta({ description: 'run seed (split and init)' })
    .optional(),
  backend: z
    .enum(BACKENDS)
    .meta({ description: 'tfjs backend (auto: tfjs-node, else wasm, else cpu)', placeholder: '<name>' })
    .optional(),
});

/**
 * Fills defaults and validates every field: unknown fields are rejected at every depth, types and
 * ranges are checked and named by field path, the task's and model's options by their registries.
 * When the task changes, the model defaults to the task's usual model (MNIST → mnist-mlp). Pure:
 * the memory check that depends on the machine is {@link checkResources}.
 * @example
 * resolveTrainConfig({ model: { kind: 'transformer' }, seed: 1 }).optimizer; // { lr: 0.001, beta1: 0.9, beta2: 0.98,
 * eps: 1e-8, weightDecay: 1 }
 * resolveTrainConfig({ optimizer: { lrr: 1 } }); // throws ConfigError: optimizer: unknown field "lrr" (fields: lr,
 * ...)
 */
export function resolveTrainConfig(input: TrainConfigInput = {}): TrainConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ConfigError('config must be a JSON object');
  const given = parseWith(trainConfigInputSchema, input, (m) => new ConfigError(m));
  const taskName = given.task?.name ?? PAPER_DEFAULTS.task.name;
  if (typeof taskName !== 'string')
    throw new ConfigError(`task.name: must be a string, got ${JSON.stringify(taskName)}`);
  let task: TaskConfig;
  try {
    task = resolveTaskConfig({ ...given.task, name: taskName });
  } catch (e) {
    if (e instanceof TaskConfigError) throw new ConfigError(e.message, { cause: e });
    throw e;
  }
  const taskDef = getTask(taskName);
  const kind = given.model?.kind ?? taskDef.defaultModel;
  if (typeof kind !== 'string') throw new ConfigError(`model.kind: must be a string, got ${JSON.stringify(kind)}`);
  let modelInput: string;
  try {
    modelInput = getModelDefinition(kind).input;
  } catch (e) {
    throw new ConfigError(`model.kind: ${(e as Error).message}`, { cause: e });
  }
  if (modelInput !== taskDef.input)
    throw new ConfigError(
      `model.kind: model "${kind}" reads ${modelInput} but task "${taskName}" gives ${taskDef.input}`,
    );
  const steps = given.steps ?? taskDef.defaultSteps;
  const cfg: TrainConfig = {
    task,
    model: { kind },
    optimizer: { ...PAPER_ADAMW, weightDecay: taskDef.defaultWeightDecay, ...given.optimizer },
    steps,
    evalEvery: given.evalEvery ?? PAPER_DEFAULTS.evalEvery,
    analysisEvery: given.analysisEvery ?? PAPER_DEFAULTS.analysisEvery,
    checkpointEvery: given.checkpointEvery ?? PAPER_DEFAULTS.checkpointEvery,
    checkpointSteps: [...new Set(given.checkpointSteps ?? [])].sort((a, b) => a - b),
    resumeEvery: given.resumeEvery ?? PAPER_DEFAULTS.resumeEvery,
    seed: given.seed ?? PAPER_DEFAULTS.seed,
    backend: given.backend ?? 'auto',
  };
  const late = cfg.checkpointSteps.find((s) => s > steps);
  if (late !== undefined) throw new ConfigError(`checkpointSteps: step ${late} is beyond the run's ${steps} steps`);
  try {
    const { kind: _kind, ...options } = { ...taskDef.modelOptions(task), ...given.model };
    const built = createModel(kind, options);
    cfg.model = { kind: built.kind, ...built.config };
  } catch (e) {
    throw new ConfigError(`model: ${(e as Error).message}`, { cause: e });
  }
  return cfg;
}

/** Short hash of a resolved config (open_lth style run identity). */
export function configHash(config: unknown): string {
  return hashOf(config);
}

/**
 * A rough upper estimate of the memory a run needs, in bytes, from its config alone (no data is
 * loaded): the prepared train and test inputs and one-hot targets (three floats per example and
 * class: the reference path's two one-hot inputs and the targets), the logits of an evaluation,
 * and the parameters with their gradients, AdamW moments and masked copies (six floats each).
 */
export function estimateMemoryBytes(config: TrainConfig): number {
  const { examples, classes } = getTask(String(config.task.name)).size(config.task);
  const model = createModel(
    config.model.kind,
    Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')),
  );
  const params = model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const inputFloats = model.input === 'images' ? examples * 784 : examples * classes * 3;
  return 4 * (inputFloats + examples * classes * 2 + params * 6);
}

/** Tensor memory the WASM backend can address (its heap is a 32-bit WebAssembly memory), with headroom. */
export const WASM_TENSOR_LIMIT_BYTES = 1.5 * 2 ** 30;

/**
 * Refuses a config whose estimated memory ({@link estimateMemoryBytes}) exceeds what this machine
 * can give it: half of its memory, and on the WASM backend (used unless tfjs-node or cpu is asked
 * for) 1.5 GiB, the most its 32-bit heap can hold with room to spare. The message says how much and
 * why, before any data is generated: a large modulus p grows the data as p³.
 */
export function checkResources(config: TrainConfig, limitBytes = os.totalmem() / 2): void {
  const tensors = estimateMemoryBytes(config);
  const wasm = config.backend === 'wasm' || config.backend === 'auto';
  // The process holds about three times the tensor bytes at its peak (the data built in JavaScript,
  // its tensor copy, evaluation temporaries): measured 4.3 GB resident for p = 500, 1.2 GB of tensors.
  const need = wasm && tensors > WASM_TENSOR_LIMIT_BYTES ? tensors : 3 * tensors;
  const limit = wasm && tensors > WASM_TENSOR_LIMIT_BYTES ? WASM_TENSOR_LIMIT_BYTES : limitBytes;
  if (need > limit) {
    const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    const what = config.task.name === 'modular' ? ` (task.p ${config.task.p}: the data grows as p³)` : '';
    const where = wasm && limit === WASM_TENSOR_LIMIT_BYTES ? 'the WASM backend can hold' : 'allowed on this machine';
    throw new ConfigError(
      `this run would need about ${gib(need)} of memory${what}, more than the ${gib(limit)} ${where}; choose a smaller task or model`,
    );
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Lays `over` on top of `base`, recursively for plain objects (lists and scalars are replaced):
 * how settings given again on a resume are compared with the stored config.
 */
export function mergeInput(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = mergeInput(base[k], v);
  return out;
}
