import fs from 'node:fs';
import path from 'node:path';
import { listPruners } from '@grokking-tickets/pruners';
import {
  ConfigError,
  checkResources,
  configHash,
  mergeInput,
  parseWith,
  resolveTrainConfig,
  type TrainConfig,
} from '@grokking-tickets/training';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { resolveTicketConfig, retrainConfig, ticketIdentity, type TicketConfig } from './ticketConfig.js';

/** What a sweep varies: plain training runs, or ticket experiments (a dense run and its arms). */
export type SweepKind = 'train' | 'ticket';

/** One value of the `variant` axis: a named partial config laid over the base. */
export interface SweepVariant {
  name: string;
  set: Record<string, unknown>;
}

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

const axes = new Map<string, SweepAxisDefinition>();

/** Adds an axis to the registry (a later registration of the same name replaces it). */
export function registerSweepAxis(axis: SweepAxisDefinition): void {
  axes.set(axis.name, axis);
}

/** Names of the registered sweep axes, in registration order. */
export function listSweepAxes(): string[] {
  return [...axes.keys()];
}

/** A registered axis by name. */
export function getSweepAxis(name: string): SweepAxisDefinition {
  const a = axes.get(name);
  if (!a) throw new ConfigError(`unknown axis "${name}" (axes: ${listSweepAxes().join(', ')})`);
  return a;
}

function setPath(input: Record<string, unknown>, keys: readonly string[], value: unknown): Record<string, unknown> {
  const over: Record<string, unknown> = {};
  let obj = over;
  for (const k of keys.slice(0, -1)) obj = obj[k] = {} as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
  return mergeInput(input, over) as Record<string, unknown>;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const name = z.string().min(1);
const stepOr = (word: string) =>
  z.union([z.literal(word), int(0, 100_000_000)], {
    error: (issue) => `must be "${word}" or a step number, got ${JSON.stringify(issue.input)}`,
  });

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

trainAxis('seed', "run seed (split and init); in a ticket sweep, the dense run's", ['seed'], int(0, 2 ** 32 - 1));
trainAxis(
  'task',
  "task name: modular | mnist (another task than the base's drops the base's task options)",
  ['task', 'name'],
  name,
);
trainAxis('op', 'modular operation: add | subtract | x2xyy2 | rand', ['task', 'op'], name);
trainAxis('p', 'modulus p', ['task', 'p'], int(2, 46340));
trainAxis('trainFraction', 'fraction of pairs used for training', ['task', 'trainFraction'], z.number().gt(0).lt(1));
trainAxis(
  'model',
  "model kind: mlp | transformer | mnist-mlp (another kind than the base's drops the base's model options)",
  ['model', 'kind'],
  name,
);
trainAxis('steps', 'full-batch updates (of the dense run in a ticket sweep)', ['steps'], int(1, 100_000_000));
trainAxis('lr', 'AdamW learning rate', ['optimizer', 'lr'], z.number().gt(0));
trainAxis(
  'weightDecay',
  'AdamW weight decay λ (of the dense run in a ticket sweep)',
  ['optimizer', 'weightDecay'],
  z.number().min(0),
);
ticketAxis(
  'retrainWeightDecay',
  'weight decay λ of every retrained arm (0: the no-weight-decay experiment)',
  ['retrain', 'weightDecay'],
  z.number().min(0),
);
ticketAxis('retrainSteps', 'full-batch updates of every retrained arm', ['retrain', 'steps'], int(1, 100_000_000));
ticketAxis('pruningRate', 'fraction of weights removed, in [0, 1)', ['pruningRate'], z.number().min(0).lt(1));
ticketAxis('pruner', 'pruner of the ticket mask: a built-in, or a plug-in named with --pruner', ['pruner'], name);
ticketAxis(
  'fromStep',
  'checkpoint of the dense run the ticket is pruned from: "final" or a step',
  ['fromStep'],
  stepOr('final'),
);
ticketAxis(
  'rewindStep',
  'weights the ticket is rewound to: "init" (θ0) or the weights after a step',
  ['rewindStep'],
  stepOr('init'),
);
ticketAxis(
  'arm',
  'arm of the experiment (ticket, dense, same-l1, same-l2, random, snip, grasp, synflow, ...)',
  ['arms'],
  name,
);
registerSweepAxis({
  name: 'variant',
  description: 'named partial configs laid over the base, e.g. one per model with its own task and weight decay',
  kinds: ['train', 'ticket'],
  value: z.strictObject({ name, set: z.record(z.string(), z.unknown()) }),
  apply: (input, v) => layOver(input, (v as SweepVariant).set),
});
// The arm axis sets a list of one arm.
const armAxis = axes.get('arm')!;
axes.set('arm', { ...armAxis, apply: (input, v) => ({ ...input, arms: [v] }) });

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

/** A validated sweep: its kind, base and axes in file order. */
export interface SweepSpec {
  name: string;
  description?: string;
  kind: SweepKind;
  base: Record<string, unknown>;
  axes: Array<{ name: string; values: unknown[] }>;
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
    const axis = axes.get(axisName);
    if (!axis) throw new ConfigError(`axes: unknown axis "${axisName}" (axes: ${listSweepAxes().join(', ')})`);
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

/** A point's axis values as a short label (`seed 1, pruningRate 0.6`). */
export function pointLabel(values: Record<string, unknown>): string {
  const parts = Object.entries(values).map(
    ([k, v]) => `${k} ${k === 'variant' ? (v as SweepVariant).name : typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
  return parts.join(', ') || 'the base config';
}

/** The folder name of a training run: `<task>-<model>-s<seed>-<config hash>` (the one `train` uses by default). */
export function runFolderName(config: TrainConfig): string {
  const task = config.task.name === 'modular' ? `${config.task.op}${config.task.p}` : String(config.task.name);
  return `${task}-${config.model.kind}-s${config.seed}-${configHash(config)}`;
}

/** The folder name of a ticket experiment: `ticket-<identity>` (the one `ticket` uses by default). */
export function experimentFolderName(config: TicketConfig): string {
  return `ticket-${ticketIdentity(config)}`;
}

/** A point of the grid. */
export interface SweepPoint {
  index: number;
  /** The point's value of every axis (variants by name). */
  axes: Record<string, unknown>;
  label: string;
  /** Ids of the runs that make the point's results. */
  runs: string[];
}

/** A run the sweep needs: a plain training run, the dense run of experiments, or an arm. */
export interface PlannedRun {
  /** Its identity: the config hash (train, dense-source) or `<experiment identity>-<arm>`; the queue's job id. */
  id: string;
  role: 'train' | 'dense-source' | 'arm';
  label: string;
  /** Folder name under the runs folder (`<experiment folder>/arms/<arm>` for an arm). */
  folder: string;
  /** Indexes of the points that use it (a dense run usually serves many). */
  points: number[];
  /**
   * train, dense-source and a mask-free dense arm: the resolved training config (such a run is trained as a plain run).
   */
  config?: TrainConfig;
  /** arm: the (first) experiment it belongs to and the arm name. */
  experiment?: string;
  arm?: string;
  /** The run that must finish first (an arm's dense run). */
  dependsOn?: string;
  /** The dense arm retrained with the dense run's own settings is that run (`runArm` reuses it): its id. */
  sameAs?: string;
}

/** A ticket experiment of the sweep. */
export interface PlannedExperiment {
  identity: string;
  folder: string;
  /** Resolved config, `dense` being the dense run's config (with the checkpoints every experiment on it needs). */
  config: TicketConfig;
  denseRun: string;
  /** The run id of its dense arm, when it has one (the reference of its speed-ups). */
  denseArm?: string;
}

/** Everything a sweep will do, resolved and validated before anything runs. */
export interface SweepPlan {
  spec: SweepSpec;
  points: SweepPoint[];
  runs: PlannedRun[];
  experiments: PlannedExperiment[];
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
  const builtin = listPruners();
  const grid = expandGrid(spec);
  const points: SweepPoint[] = grid.map((values, index) => ({
    index,
    axes: values,
    label: pointLabel(values),
    runs: [],
  }));
  const runs = new Map<string, PlannedRun>();
  const experiments = new Map<string, PlannedExperiment & { points: number[]; arms: string[] }>();
  const addRun = (run: PlannedRun, point: number) => {
    const known = runs.get(run.id);
    if (known) {
      if (!known.points.includes(point)) known.points.push(point);
    } else runs.set(run.id, run);
  };
  const checked = new Set<string>();
  const check = (config: TrainConfig) => {
    const h = configHash(config);
    if (options.skipResourceCheck || checked.has(h)) return;
    checked.add(h);
    checkResources(config);
  };

  if (spec.kind === 'train') {
    for (const point of points) {
      try {
        let input = { ...spec.base };
        for (const [k, v] of Object.entries(point.axes)) input = getSweepAxis(k).apply(input, v, 'train');
        const config = resolveTrainConfig(input);
        check(config);
        const id = configHash(config);
        addRun(
          { id, role: 'train', label: point.label, folder: runFolderName(config), points: [point.index], config },
          point.index,
        );
        point.runs.push(id);
      } catch (e) {
        pointError(point, e);
      }
    }
    return { spec, points, runs: [...runs.values()], experiments: [] };
  }

  // Ticket sweep. First resolve every point, then give each dense config the checkpoints its experiments need.
  const resolved: Array<{ point: SweepPoint; config: TicketConfig }> = [];
  const stepsNeeded = new Map<string, Set<number>>();
  for (const point of points) {
    try {
      let input = { ...spec.base };
      for (const [k, v] of Object.entries(point.axes)) input = getSweepAxis(k).apply(input, v, 'ticket');
      const config = resolveTicketConfig(input);
      if (!builtin.includes(config.pruner) && !(options.allowPruners ?? []).includes(config.pruner)) {
        throw new ConfigError(
          `pruner: "${config.pruner}" is not a built-in pruner (${builtin.join(', ')}); plug-ins are loaded only from names given on the command line: pass --pruner ${config.pruner}`,
        );
      }
      check(config.dense);
      const key = configHash(config.dense);
      const need = stepsNeeded.get(key) ?? new Set<number>();
      for (const s of [config.fromStep, config.rewindStep])
        if (typeof s === 'number' && s > 0 && s < config.dense.steps) need.add(s);
      stepsNeeded.set(key, need);
      resolved.push({ point, config });
    } catch (e) {
      pointError(point, e);
    }
  }
  const denseConfigs = new Map<string, TrainConfig>();
  const denseOf = (dense: TrainConfig): TrainConfig => {
    const key = configHash(dense);
    let d = denseConfigs.get(key);
    if (!d) {
      const covered = (s: number) =>
        dense.checkpointSteps.includes(s) || (dense.checkpointEvery > 0 && s % dense.checkpointEvery === 0);
      const extra = [...(stepsNeeded.get(key) ?? [])].filter((s) => !covered(s));
      d = extra.length
        ? resolveTrainConfig({ ...dense, checkpointSteps: [...dense.checkpointSteps, ...extra] })
        : dense;
      denseConfigs.set(key, d);
    }
    return d;
  };
  for (const { point, config } of resolved) {
    const dense = denseOf(config.dense);
    const denseId = configHash(dense);
    const experiment: TicketConfig = { ...config, dense, denseDir: null };
    const identity = ticketIdentity(experiment);
    const folder = experimentFolderName(experiment);
    addRun(
      {
        id: denseId,
        role: 'dense-source',
        label: `dense ${pointLabel(denseAxes(point.axes))}`,
        folder: runFolderName(dense),
        points: [point.index],
        config: dense,
      },
      point.index,
    );
    point.runs.push(denseId);
    let exp = experiments.get(identity);
    if (!exp)
      experiments.set(
        identity,
        (exp = { identity, folder, config: experiment, denseRun: denseId, points: [], arms: [] }),
      );
    exp.points.push(point.index);
    for (const arm of config.arms) {
      if (!exp.arms.includes(arm)) exp.arms.push(arm);
      const label = `${point.label}${'arm' in point.axes ? '' : `, arm ${arm}`}`;
      let id = `${identity}-${arm}`;
      if (arm === 'dense') {
        // The dense arm has no mask: it is the plain run of the retraining config from the same θ0,
        // so it is planned as that run (named by its hash) and shared by every rate, pruner and
        // checkpoint of the sweep; with the dense run's own settings it is the dense run itself.
        const retrain = retrainConfig(experiment);
        const retrainId = configHash(retrain);
        // Checkpoints do not change a trajectory: equal but for them, the dense arm is the dense run.
        if (configHash({ ...retrain, checkpointSteps: [] }) === configHash({ ...dense, checkpointSteps: [] })) {
          addRun(
            {
              id,
              role: 'arm',
              label,
              folder: runFolderName(dense),
              points: [point.index],
              experiment: identity,
              arm,
              dependsOn: denseId,
              sameAs: denseId,
            },
            point.index,
          );
        } else {
          id = retrainId;
          const shared = Object.fromEntries(
            Object.entries(point.axes).filter(
              ([k]) => getSweepAxis(k).kinds.includes('train') || k.startsWith('retrain'),
            ),
          );
          addRun(
            {
              id,
              role: 'arm',
              label: `arm dense, ${pointLabel(shared)}`,
              folder: runFolderName(retrain),
              points: [point.index],
              experiment: identity,
              arm,
              config: retrain,
            },
            point.index,
          );
        }
        exp.denseArm = id;
      } else {
        addRun(
          {
            id,
            role: 'arm',
            label,
            folder: `${folder}/arms/${arm}`,
            points: [point.index],
            experiment: identity,
            arm,
            dependsOn: denseId,
          },
          point.index,
        );
      }
      point.runs.push(id);
    }
  }
  return {
    spec,
    points,
    runs: [...runs.values()],
    experiments: [...experiments.values()].map(({ points: _p, arms, ...e }) => ({
      ...e,
      config: { ...e.config, arms },
    })),
  };
}

/** The axes of a point that describe its dense run. */
function denseAxes(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => getSweepAxis(k).kinds.includes('train')));
}
