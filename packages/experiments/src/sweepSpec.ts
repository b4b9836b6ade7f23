import fs from 'node:fs';
import path from 'node:path';
import { pruners } from '@grokking-tickets/pruners';
import { createRegistry, findPlugin, type Registry } from '@grokking-tickets/registry';
import {
  ConfigError,
  checkResources,
  configHash,
  getTask,
  mergeInput,
  parseWith,
  resolveTrainConfig,
  schemaField,
  trainConfigInputSchema,
  type TrainConfig,
} from '@grokking-tickets/training';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  experimentFolderName,
  planExperiments,
  pointLabel,
  runFolderName,
  type PlanLayout,
  type PlannedRun,
  type SweepKind,
  type SweepPlan,
  type SweepPoint,
  type SweepSpec,
  type SweepVariant,
} from './plan.js';
import { resolveTicketConfig, ticketConfigInputSchema, type TicketConfig } from './ticketConfig.js';

export {
  experimentFolderName,
  pointLabel,
  runFolderName,
  type PlannedExperiment,
  type PlannedRun,
  type SweepKind,
  type SweepPlan,
  type SweepPoint,
  type SweepSpec,
  type SweepVariant,
} from './plan.js';

/**
 * An axis a sweep file may vary: its value schema, the sweep kinds it applies to, and how a value
 * changes a point's config input. Registered in one table, so adding an axis touches one place.
 */
export interface SweepAxisDefinition {
  name: string;
  description: string;
  kinds: readonly SweepKind[];
  /** Schema of one value. */
  value: z.ZodType;
  /** Lays a value onto a point's config input (a `TrainConfigInput` or a `TicketConfigInput`). */
  apply(input: Record<string, unknown>, value: unknown, kind: SweepKind): Record<string, unknown>;
}

/** The axes a sweep file may vary, by name. */
export const sweepAxes: Registry<SweepAxisDefinition> = createRegistry<SweepAxisDefinition>({
  kind: 'axis',
  plural: 'sweepAxes',
  listLabel: 'axes',
  check: (a) =>
    typeof (a as SweepAxisDefinition).apply !== 'function' || !Array.isArray((a as SweepAxisDefinition).kinds)
      ? 'a sweep axis needs kinds and apply(input, value, kind)'
      : null,
});

/** Adds an axis to the registry (a later registration of the same name replaces it). */
export function registerSweepAxis(axis: SweepAxisDefinition): void {
  sweepAxes.register(axis);
}

/** Names of the registered sweep axes, in registration order. */
export function listSweepAxes(): string[] {
  return sweepAxes.names();
}

/** A registered axis by name. */
export function getSweepAxis(name: string): SweepAxisDefinition {
  const a = sweepAxes.find(name);
  if (!a) throw new ConfigError(sweepAxes.unknown(name).message);
  return a;
}

function setPath(input: Record<string, unknown>, keys: readonly string[], value: unknown): Record<string, unknown> {
  const over: Record<string, unknown> = {};
  let obj = over;
  for (const k of keys.slice(0, -1)) obj = obj[k] = {} as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
  return mergeInput(input, over) as Record<string, unknown>;
}

const name = z.string().min(1);
// Axis values are checked by the config fields they set: each range is defined once, in the schema.
const trainField = (...path: string[]) => schemaField(trainConfigInputSchema, path);
const ticketField = (...path: string[]) => schemaField(ticketConfigInputSchema, path);
const modularField = (key: string) => schemaField(getTask('modular').options(), [key]);

/**
 * Lays `over` on `base` like mergeInput, except that a task or model block naming another task or
 * model kind replaces the base's block: options of one model (dEmb) mean nothing to another.
 */
function layOver(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = mergeInput(base, over) as Record<string, unknown>;
  for (const [block, key] of [
    ['task', 'name'],
    ['model', 'kind'],
  ] as const) {
    const b = base[block] as Record<string, unknown> | undefined;
    const o = over[block] as Record<string, unknown> | undefined;
    if (o && typeof o === 'object' && o[key] !== undefined && b && typeof b === 'object' && b[key] !== o[key])
      out[block] = o;
  }
  if (over.dense && typeof over.dense === 'object' && base.dense && typeof base.dense === 'object') {
    out.dense = layOver(base.dense as Record<string, unknown>, over.dense as Record<string, unknown>);
  }
  return out;
}

/** An axis that sets one training-config field (of the dense run in a ticket sweep). */
function trainAxis(axisName: string, description: string, keys: string[], value: z.ZodType): void {
  const replaces = keys[1] === 'name' || keys[1] === 'kind';
  registerSweepAxis({
    name: axisName,
    description,
    kinds: ['train', 'ticket'],
    value,
    apply: (input, v, kind) => {
      if (!replaces) return setPath(input, kind === 'ticket' ? ['dense', ...keys] : keys, v);
      const block = { [keys[0]!]: { [keys[1]!]: v } };
      return layOver(input, kind === 'ticket' ? { dense: block } : block);
    },
  });
}

/** An axis that sets one ticket-config field. */
function ticketAxis(axisName: string, description: string, keys: string[], value: z.ZodType): void {
  registerSweepAxis({
    name: axisName,
    description,
    kinds: ['ticket'],
    value,
    apply: (input, v) => setPath(input, keys, v),
  });
}

trainAxis('seed', "run seed (split and init); in a ticket sweep, the dense run's", ['seed'], trainField('seed'));
trainAxis(
  'task',
  "task name: modular | mnist (another task than the base's drops the base's task options)",
  ['task', 'name'],
  name,
);
trainAxis('op', 'modular operation: add | subtract | x2xyy2 | rand', ['task', 'op'], name);
trainAxis('p', 'modulus p', ['task', 'p'], modularField('p'));
trainAxis(
  'trainFraction',
  'fraction of pairs used for training',
  ['task', 'trainFraction'],
  modularField('trainFraction'),
);
trainAxis(
  'model',
  "model kind: mlp | transformer | mnist-mlp (another kind than the base's drops the base's model options)",
  ['model', 'kind'],
  name,
);
trainAxis('steps', 'full-batch updates (of the dense run in a ticket sweep)', ['steps'], trainField('steps'));
trainAxis('lr', 'AdamW learning rate', ['optimizer', 'lr'], trainField('optimizer', 'lr'));
trainAxis(
  'weightDecay',
  'AdamW weight decay λ (of the dense run in a ticket sweep)',
  ['optimizer', 'weightDecay'],
  trainField('optimizer', 'weightDecay'),
);
ticketAxis(
  'retrainWeightDecay',
  'weight decay λ of every retrained arm (0: the no-weight-decay experiment)',
  ['retrain', 'weightDecay'],
  ticketField('retrain', 'weightDecay'),
);
ticketAxis(
  'retrainSteps',
  'full-batch updates of every retrained arm',
  ['retrain', 'steps'],
  ticketField('retrain', 'steps'),
);
ticketAxis('pruningRate', 'fraction of weights removed, in [0, 1)', ['pruningRate'], ticketField('pruningRate'));
ticketAxis(
  'pruner',
  'pruner of the ticket mask: a built-in, or a plug-in named with --pruner or --plugin',
  ['pruner'],
  ticketField('pruner'),
);
ticketAxis(
  'fromStep',
  'checkpoint of the dense run the ticket is pruned from: "final" or a step',
  ['fromStep'],
  ticketField('fromStep'),
);
ticketAxis(
  'rewindStep',
  'weights the ticket is rewound to: "init" (θ0) or the weights after a step',
  ['rewindStep'],
  ticketField('rewindStep'),
);
registerSweepAxis({
  name: 'arm',
  description: 'arm of the experiment (ticket, dense, same-l1, same-l2, random, snip, grasp, synflow, ...)',
  kinds: ['ticket'],
  value: name,
  // The arm axis sets a list of one arm.
  apply: (input, v) => ({ ...input, arms: [v] }),
});
registerSweepAxis({
  name: 'variant',
  description: 'named partial configs laid over the base, e.g. one per model with its own task and weight decay',
  kinds: ['train', 'ticket'],
  value: z.strictObject({ name, set: z.record(z.string(), z.unknown()) }),
  apply: (input, v) => layOver(input, (v as SweepVariant).set),
});

/** The most points a sweep may expand to (a guard against a typo multiplying the grid). */
export const MAX_SWEEP_POINTS = 10_000;

/** A sweep file as written (JSON or YAML). */
export interface SweepFile {
  /** Names the sweep (default: the file name); the default sweep folder is `sweeps/<name>`. */
  name?: string;
  description?: string;
  kind: SweepKind;
  /** The base config: a training config (kind train) or a ticket config (kind ticket). */
  base?: Record<string, unknown>;
  /** Axis name → the values it takes; the grid is their product, the first axis outermost. */
  axes?: Record<string, unknown[]>;
}

const sweepFileSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
      error: (i) => `must be letters, digits, ".", "_" or "-", got ${JSON.stringify(i.input)}`,
    })
    .optional(),
  description: z.string().optional(),
  kind: z.enum(['train', 'ticket']),
  base: z.record(z.string(), z.unknown()).optional(),
  axes: z.record(z.string(), z.unknown()).optional(),
});

/** Reads a sweep file (.json, .yaml or .yml); a file it cannot read or parse is a one-line ConfigError naming it. */
export function readSweepFile(file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext))
    throw new ConfigError(`${file}: a sweep file ends in .json, .yaml or .yml`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read sweep file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
  try {
    return ext === '.json'
      ? JSON.parse(text)
      : parseYaml(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    const err = e as Error & { pos?: [number, number] };
    // Line and column of the error, from its offset in the text (1-based, as editors show them).
    const offset = Math.min(err.pos?.[0] ?? -1, text.length);
    const before = offset >= 0 ? text.slice(0, offset).split('\n') : null;
    const at = before ? `:${before.length}:${before[before.length - 1]!.length + 1}` : '';
    throw new ConfigError(
      `${file}${at}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      { cause: e },
    );
  }
}

/**
 * Validates a parsed sweep file by schema: unknown fields and axes, values of the wrong type or out
 * of range, an axis that does not apply to the kind, an empty axis (an empty grid), repeated values,
 * a grid larger than {@link MAX_SWEEP_POINTS}. Errors are one line naming the field (`axes.seed[1]: …`).
 */
export function validateSweep(value: unknown, defaultName = 'sweep'): SweepSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(
      `a sweep file holds an object with kind, base and axes, got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}`,
    );
  const file = parseWith(sweepFileSchema, value, (m) => new ConfigError(m));
  const out: SweepSpec['axes'] = [];
  let points = 1;
  for (const [axisName, values] of Object.entries(file.axes ?? {})) {
    const axis = sweepAxes.find(axisName);
    if (!axis) throw new ConfigError(`axes: ${sweepAxes.unknown(axisName).message}`);
    if (!axis.kinds.includes(file.kind))
      throw new ConfigError(
        `axes.${axisName}: applies to ${axis.kinds.join(' and ')} sweeps only, not to a ${file.kind} sweep`,
      );
    if (!Array.isArray(values))
      throw new ConfigError(`axes.${axisName}: must be a list of values, got ${JSON.stringify(values)}`);
    if (values.length === 0)
      throw new ConfigError(
        `axes.${axisName}: an empty list makes the grid empty; list at least one value or remove the axis`,
      );
    const parsed = parseWith(z.array(axis.value), values, (m) => new ConfigError(m), `axes.${axisName}`);
    const seen = new Map<string, number>();
    parsed.forEach((v, i) => {
      const key = axisName === 'variant' ? (v as SweepVariant).name : JSON.stringify(v);
      if (seen.has(key))
        throw new ConfigError(`axes.${axisName}[${i}]: ${key} is listed twice (also at [${seen.get(key)}])`);
      seen.set(key, i);
    });
    points *= parsed.length;
    out.push({ name: axisName, values: parsed });
  }
  if (points > MAX_SWEEP_POINTS)
    throw new ConfigError(`axes: the grid has ${points} points, more than the ${MAX_SWEEP_POINTS} a sweep may hold`);
  return {
    name: file.name ?? defaultName,
    ...(file.description !== undefined ? { description: file.description } : {}),
    kind: file.kind,
    base: file.base ?? {},
    axes: out,
  };
}

/** Reads and validates a sweep file; errors name the file. */
export function loadSweepFile(file: string): SweepSpec {
  const value = readSweepFile(file);
  try {
    return validateSweep(value, path.basename(file).replace(/\.(json|ya?ml)$/i, ''));
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The grid in file order (first axis outermost): one record of axis values per point. */
export function expandGrid(spec: Pick<SweepSpec, 'axes'>): Array<Record<string, unknown>> {
  let grid: Array<Record<string, unknown>> = [{}];
  for (const axis of spec.axes) grid = grid.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.name]: v })));
  return grid;
}

/** Options of {@link planSweep}. */
export interface PlanOptions {
  /** Plug-in pruners the user named in this invocation (anything else must be built in). */
  allowPruners?: readonly string[];
  /** Skip the per-machine memory check (e.g. when planning for queue workers elsewhere). */
  skipResourceCheck?: boolean;
}

function pointError(point: SweepPoint, e: unknown): never {
  if (e instanceof ConfigError)
    throw new ConfigError(`point ${point.index} (${point.label}): ${e.message}`, { cause: e });
  throw e;
}

/**
 * Resolves every point of the grid into runs: a train sweep into one training run per distinct
 * config; a ticket sweep into ticket experiments (named by their identity) that share dense runs
 * (named by their config hash). A dense run serves every experiment with the same dense config and
 * is trained once: it gets a checkpoint at each numeric `fromStep`/`rewindStep` its experiments
 * need. Arms from points that resolve to the same experiment share its folder. Every config is
 * resolved by schema (a point that would be an invalid run is a one-line ConfigError naming it) and
 * checked against this machine's memory. Pure apart from that check.
 * @example
 * const plan = planSweep(loadSweepFile('examples/sweeps/tiny-rates.yaml'));
 * plan.runs.filter((r) => r.role === 'dense-source').length; // one dense run per seed, shared by every rate
 */
export function planSweep(spec: SweepSpec, options: PlanOptions = {}): SweepPlan {
  const where = (m: string) => `base: ${m}`;
  try {
    if (spec.kind === 'train') resolveTrainConfig(spec.base);
    else {
      resolveTicketConfig(spec.base);
      if ('denseDir' in spec.base && spec.base.denseDir !== null)
        throw new ConfigError(
          'denseDir: a sweep trains and shares its own dense runs (named by config hash); remove denseDir',
        );
    }
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(where(e.message), { cause: e });
    throw e;
  }
  const grid = expandGrid(spec);
  const points: SweepPoint[] = grid.map((values, index) => ({
    index,
    axes: values,
    label: pointLabel(values),
    runs: [],
  }));
  const checked = new Set<string>();
  const check = (config: TrainConfig) => {
    const h = configHash(config);
    if (options.skipResourceCheck || checked.has(h)) return;
    checked.add(h);
    checkResources(config);
  };

  if (spec.kind === 'train') {
    const runs = new Map<string, PlannedRun>();
    for (const point of points) {
      try {
        let input = { ...spec.base };
        for (const [k, v] of Object.entries(point.axes)) input = getSweepAxis(k).apply(input, v, 'train');
        const config = resolveTrainConfig(input);
        check(config);
        const id = configHash(config);
        const known = runs.get(id);
        if (known) known.points.push(point.index);
        else
          runs.set(id, {
            id,
            role: 'train',
            label: point.label,
            folder: runFolderName(config),
            points: [point.index],
            config,
          });
        point.runs.push(id);
      } catch (e) {
        pointError(point, e);
      }
    }
    return { spec, points, runs: [...runs.values()], experiments: [] };
  }

  // Ticket sweep: resolve every point, then plan its experiments (shared dense runs and dense arms).
  const resolved: Array<{ point: SweepPoint; config: TicketConfig }> = [];
  for (const point of points) {
    try {
      let input = { ...spec.base };
      for (const [k, v] of Object.entries(point.axes)) input = getSweepAxis(k).apply(input, v, 'ticket');
      const config = resolveTicketConfig(input);
      checkPrunerAllowed(config.pruner, options.allowPruners);
      check(config.dense);
      resolved.push({ point, config: { ...config, denseDir: null } });
    } catch (e) {
      pointError(point, e);
    }
  }
  return { spec, points, ...planExperiments(resolved, SWEEP_LAYOUT) };
}

/** A sweep's layout: dense runs and mask-free dense arms are plain runs named by config hash, shared. */
const SWEEP_LAYOUT: PlanLayout = {
  dense: (dense, point) => ({
    id: configHash(dense),
    folder: runFolderName(dense),
    label: `dense ${pointLabel(denseAxes(point.axes))}`,
  }),
  experimentFolder: experimentFolderName,
  arm: (identity, arm, point) => ({
    id: `${identity}-${arm}`,
    label: `${point.label}${'arm' in point.axes ? '' : `, arm ${arm}`}`,
  }),
  sharedDenseArm: (retrain, point) => {
    const shared = Object.fromEntries(
      Object.entries(point.axes).filter(([k]) => getSweepAxis(k).kinds.includes('train') || k.startsWith('retrain')),
    );
    return { id: configHash(retrain), folder: runFolderName(retrain), label: `arm dense, ${pointLabel(shared)}` };
  },
};

/**
 * Refuses a pruner that is neither built in nor a plug-in loaded in this process (named by the
 * user in this invocation: `--pruner` or `--plugin`), nor in `allowed`.
 */
export function checkPrunerAllowed(pruner: string, allowed: readonly string[] = []): void {
  if (pruners.has(pruner) || findPlugin(pruner) || allowed.includes(pruner)) return;
  throw new ConfigError(
    `pruner: "${pruner}" is not a built-in pruner (${pruners.names().join(', ')}); plug-ins are loaded only from names given on the command line: pass --pruner ${pruner}`,
  );
}

/** The axes of a point that describe its dense run. */
function denseAxes(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => getSweepAxis(k).kinds.includes('train')));
}
