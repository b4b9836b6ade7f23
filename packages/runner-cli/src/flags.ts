import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { models } from '@grokking-tickets/models';
import {
  PAPER_DEFAULTS,
  mergeInput,
  resolveTrainConfig,
  schemaField,
  tasks,
  trainConfigInputSchema,
  unwrapSchema,
  type TrainConfig,
  type TrainConfigInput,
} from '@grokking-tickets/training';
import { z } from 'zod';
import { UsageError } from './errors.js';

// Decimal notation only, the same for every numeric flag: 0.001, 1e-3, 30000, 3e4. No hex (0x10),
// no empty value, no Infinity or NaN.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a decimal number flag (the one grammar every numeric flag uses). */
export function numberFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!DECIMAL.test(value.trim()) || !Number.isFinite(n))
      throw new InvalidArgumentError(`${flag} must be a decimal number, got ${JSON.stringify(value)}.`);
    return n;
  };
}

/** Parses an integer flag: a decimal number with an integral value below 2^53, at least `min`. */
export function intFlag(flag: string, min = 0) {
  return (value: string): number => {
    const n = numberFlag(flag)(value);
    if (!Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${flag} must be an integer below 2^53, got ${JSON.stringify(value)}.`);
    if (n < min) throw new InvalidArgumentError(`${flag} must be >= ${min}, got ${n}.`);
    return n;
  };
}

/** A non-empty string flag (an empty value is never taken as "not given"). */
export function stringFlag(flag: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} must not be empty.`);
    return value;
  };
}

/** A comma-separated list of non-empty items. */
export function listFlag(flag: string) {
  return (value: string): string[] => {
    const items = value.split(',').map((s) => s.trim());
    if (value.trim() === '' || items.some((s) => s === ''))
      throw new InvalidArgumentError(
        `${flag} must be a comma-separated list with no empty items, got ${JSON.stringify(value)}.`,
      );
    return items;
  };
}

/** One of a list of values (an enum of the config schema). */
export function enumFlag(flag: string, values: readonly string[]) {
  return (value: string): string => {
    if (!values.includes(value))
      throw new InvalidArgumentError(
        `${flag} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}. Allowed choices are ${values.join(', ')}.`,
      );
    return value;
  };
}

/** A step number or a word (`final`, `init`). */
export function stepFlag(flag: string, word: string) {
  return (value: string): number | string => (value === word ? word : intFlag(flag, 0)(value));
}

/** A flag that maps onto a config field. */
export interface ConfigFlag {
  /** commander attribute name (camelCase of the long flag; `symmetric` for `--no-symmetric`). */
  key: string;
  option: () => Option;
  path: string[];
  /** The long flag as typed (`--weight-decay`, `--no-symmetric`). */
  flag: string;
}

type Meta = {
  description?: string;
  /** The flag's name without dashes, when it is not the field's name in kebab case. */
  flag?: string;
  placeholder?: string;
  defaultText?: string;
  /** Help of the `--no-<flag>` form of a boolean that is true by default. */
  negated?: string;
};
type Def = Record<string, unknown> & { type: string };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const metaOf = (schema: z.ZodType): Meta => (typeof schema.meta === 'function' ? (schema.meta() ?? {}) : {}) as Meta;
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The default of a field wrapped in `.default(v)`, or undefined. */
function defaultOf(field: z.ZodType): unknown {
  let node = field as unknown as { _zod?: { def?: Def } };
  while (node?._zod?.def) {
    const def = node._zod.def;
    if (def.type === 'default')
      return typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
    if (!['optional', 'nullable', 'prefault'].includes(def.type)) return undefined;
    node = def.innerType as typeof node;
  }
  return undefined;
}

/** What a field takes on the command line. */
export interface FlagFieldSpec {
  /** Config path the flag sets. */
  path: string[];
  /** The field's schema (wrapped or not). */
  field: z.ZodType;
  /** The flag's name without dashes (default: the last path key in kebab case, or the meta's `flag`). */
  name?: string;
  description?: string;
  defaultText?: string;
  placeholder?: string;
  /**
   * Check enum values when the flag is parsed (the config's own fields); options of a task or
   * model are checked by that task's or model's schema when the config is resolved.
   */
  checkChoices?: boolean;
}

/**
 * Builds a commander option from a config field's schema: the value grammar from its type (a
 * decimal number; an integer below 2^53 and at least the field's minimum; a non-empty string; a
 * comma-separated list; `n|word` for a step or a word; a switch, `--no-x` for a field that is true
 * by default; one of the enum's values), the help from its description, and the default shown in
 * the help (never set as a value: a flag overrides a config file only when typed). Every other
 * range is the schema's own, checked when the config is resolved.
 */
export function flagFromField(spec: FlagFieldSpec): ConfigFlag {
  const schema = unwrapSchema(spec.field);
  const def = defOf(schema);
  const meta = metaOf(schema);
  const base = spec.name ?? meta.flag ?? kebab(spec.path[spec.path.length - 1]!);
  const description = spec.description ?? meta.description ?? spec.path.join('.');
  const shownDefault = spec.defaultText ?? meta.defaultText;
  const help = (text: string, dflt: unknown) =>
    dflt === undefined || dflt === null || dflt === '' ? text : `${text} (default: ${String(dflt)})`;
  const given = defaultOf(spec.field);
  if (def.type === 'boolean') {
    if (given === true) {
      const flag = `--no-${base}`;
      return {
        key: camel(base),
        path: spec.path,
        flag,
        option: () => new Option(flag, meta.negated ?? `not: ${description}`),
      };
    }
    const flag = `--${base}`;
    return { key: camel(base), path: spec.path, flag, option: () => new Option(flag, description) };
  }
  const flag = `--${base}`;
  const numeric = schema as unknown as { isInt?: boolean; minValue?: number | null };
  let placeholder = '<name>';
  let parse: (v: string) => unknown;
  let choices: string[] | null = null;
  if (def.type === 'number') {
    placeholder = numeric.isInt ? '<n>' : '<x>';
    parse = numeric.isInt ? intFlag(flag, numeric.minValue ?? Number.MIN_SAFE_INTEGER) : numberFlag(flag);
  } else if (def.type === 'string') {
    parse = stringFlag(flag);
  } else if (def.type === 'enum') {
    const values = Object.values(def.entries as Record<string, string>);
    placeholder = `<${base.split('-').pop()}>`;
    if (spec.checkChoices) {
      choices = values;
      parse = enumFlag(flag, values);
    } else parse = stringFlag(flag);
  } else if (def.type === 'array') {
    placeholder = '<list>';
    const element = unwrapSchema(def.element as z.ZodType) as unknown as { isInt?: boolean; minValue?: number | null };
    parse = element.isInt
      ? (v) => listFlag(flag)(v).map((s) => intFlag(`${flag} entries`, element.minValue ?? 0)(s))
      : listFlag(flag);
  } else if (def.type === 'union') {
    const word = (def.options as z.ZodType[]).map((o) => defOf(unwrapSchema(o))).find((d) => d.type === 'literal')
      ?.values as unknown[] | undefined;
    const literal = String(word?.[0]);
    placeholder = `<n|${literal}>`;
    parse = stepFlag(flag, literal);
  } else {
    throw new Error(`no command-line form for the config field ${spec.path.join('.')} (${def.type})`);
  }
  placeholder = spec.placeholder ?? meta.placeholder ?? placeholder;
  return {
    key: camel(base),
    path: spec.path,
    flag,
    option: () => {
      const o = new Option(`${flag} ${placeholder}`, help(description, shownDefault ?? given));
      if (choices) o.choices(choices);
      return o.argParser(parse);
    },
  };
}

/**
 * A value shown per task: the default for the paper's task, and where another registered task
 * resolves to another value, `(x for task)`. Read from `resolveTrainConfig`, so it is the schema's.
 */
export function taskDefault(read: (c: TrainConfig) => unknown): string {
  const first = resolveTrainConfig({});
  const others = tasks
    .names()
    .filter((t) => t !== first.task.name)
    .flatMap((t) => {
      try {
        const v = read(resolveTrainConfig({ task: { name: t } }));
        return v === read(first) ? [] : [`${String(v)} for ${t}`];
      } catch {
        return [];
      }
    });
  return `${String(read(first))}${others.length ? ` (${others.join(', ')})` : ''}`;
}

/**
 * The training-config flags, built from the config schema and the registries (tasks with their
 * options, models with the options they describe), in the order of the schema: one table, used by
 * `train` and (for the dense run) `ticket`. Plug-in tasks and models loaded before the program is
 * built (`--plugin`) add their options. Each flag maps to a config path; a flag overrides the
 * config file only when given on the command line.
 */
export function trainFlags(reserved: readonly string[] = []): ConfigFlag[] {
  const s = trainConfigInputSchema;
  const paperTask = resolveTrainConfig({}).task.name;
  const taskFlag = flagFromField({
    path: ['task', 'name'],
    field: z.string().min(1).meta({ placeholder: '<name>' }),
    name: 'task',
    description: `task: ${tasks.names().join(' | ')}`,
    defaultText: paperTask,
  });
  const modelFlag = flagFromField({
    path: ['model', 'kind'],
    field: z.string().min(1).meta({ placeholder: '<kind>' }),
    name: 'model',
    description: `model: ${models.names().join(' | ')}`,
    defaultText: `the task's: ${taskDefault((c) => c.model.kind)}`,
  });
  const paper = (v: unknown) => String(v);
  const fixed: ConfigFlag[] = [
    flagFromField({ path: ['steps'], field: s.shape.steps, defaultText: taskDefault((c) => c.steps) }),
    ...(['lr', 'weightDecay', 'beta1', 'beta2', 'eps'] as const).map((key) =>
      flagFromField({
        path: ['optimizer', key],
        field: schemaField(s, ['optimizer', key]),
        defaultText:
          key === 'weightDecay' ? taskDefault((c) => c.optimizer.weightDecay) : paper(PAPER_DEFAULTS.optimizer[key]),
      }),
    ),
    ...(['seed', 'evalEvery', 'analysisEvery', 'checkpointEvery'] as const).map((key) =>
      flagFromField({ path: [key], field: s.shape[key], defaultText: paper(PAPER_DEFAULTS[key]) }),
    ),
    flagFromField({ path: ['checkpointSteps'], field: s.shape.checkpointSteps, defaultText: 'none' }),
    flagFromField({
      path: ['resumeEvery'],
      field: s.shape.resumeEvery,
      defaultText: paper(PAPER_DEFAULTS.resumeEvery),
    }),
    flagFromField({
      path: ['backend'],
      field: s.shape.backend,
      defaultText: PAPER_DEFAULTS.backend,
      checkChoices: true,
    }),
  ];
  // Options of tasks and models share the flag namespace: one that another flag already takes is
  // prefixed with `task-` or `model-` (a config file sets any of them).
  const taken = new Set([...reserved, taskFlag.flag, modelFlag.flag, ...fixed.map((f) => f.flag)]);
  const unique = (name: string, prefix: string) => (taken.has(`--${name}`) ? `${prefix}-${name}` : name);
  const taskOptions = new Map<string, { field: z.ZodType; tasks: string[] }>();
  for (const t of tasks.entries()) {
    const shape = (defOf(unwrapSchema(t.options())).shape ?? {}) as Record<string, z.ZodType>;
    for (const [key, field] of Object.entries(shape)) {
      const known = taskOptions.get(key);
      if (known) known.tasks.push(t.name);
      else taskOptions.set(key, { field, tasks: [t.name] });
    }
  }
  // An option whose schema has no command-line form (or is not a zod 4 schema) is left to config files.
  const isZod4 = (field: z.ZodType) => Boolean((unwrapSchema(field) as unknown as { _zod?: unknown })?._zod);
  const taskFlags = [...taskOptions].flatMap(([key, { field, tasks: owners }]) => {
    if (!isZod4(field)) return [];
    const meta = metaOf(unwrapSchema(field));
    const desc = meta.description ?? key;
    const values = defOf(unwrapSchema(field)).entries as Record<string, string> | undefined;
    const shown = values ? `${desc}: ${Object.values(values).join(' | ')}` : desc;
    try {
      return [
        flagFromField({
          path: ['task', key],
          field,
          name: unique(meta.flag ?? kebab(key), 'task'),
          description: owners.includes(paperTask) ? shown : `${owners.join(', ')}: ${shown}`,
        }),
      ];
    } catch {
      return [];
    }
  });
  const modelOptions = new Map<string, { description: string; defaults: Array<[string, unknown]> }>();
  for (const m of models.entries())
    for (const [key, description] of Object.entries(m.describeOptions ?? {})) {
      const known = modelOptions.get(key) ?? { description, defaults: [] };
      known.defaults.push([m.kind, m.defaults[key]]);
      modelOptions.set(key, known);
    }
  const modelFlags = [...modelOptions].map(([key, { description, defaults }]) => {
    const [first, ...rest] = defaults;
    const others = rest.filter(([, v]) => v !== first?.[1]).map(([k, v]) => `${String(v)} for ${k}`);
    const sample = first?.[1];
    return flagFromField({
      path: ['model', key],
      field: typeof sample === 'number' ? z.number() : typeof sample === 'boolean' ? z.boolean() : z.string(),
      name: unique(kebab(key), 'model'),
      description: `${description} (${defaults.map(([k]) => k).join(', ')})`,
      defaultText: `${String(sample)}${others.length ? ` (${others.join(', ')})` : ''}`,
    });
  });
  return [taskFlag, ...taskFlags, modelFlag, ...modelFlags, ...fixed];
}

/** The training-config flags of the built-in tasks and models (see {@link trainFlags}). */
export const TRAIN_FLAGS: ConfigFlag[] = trainFlags();

/** The long flag of a commander attribute, as a table of flags names it (`symmetric` → `--no-symmetric`). */
export function flagName(key: string, flags: readonly ConfigFlag[] = TRAIN_FLAGS): string {
  return flags.find((f) => f.key === key)?.flag ?? `--${kebab(key)}`;
}

/** Adds flags to a command, with wording overrides (e.g. `ticket`'s `--weight-decay` means the retraining λ). */
export function addFlags(cmd: Command, flags: ConfigFlag[], wording: Record<string, string> = {}): Command {
  for (const f of flags) {
    const o = f.option();
    if (wording[f.key]) o.description = wording[f.key]!;
    cmd.addOption(o);
  }
  return cmd;
}

/** Keys of the flags the user gave on the command line (not defaults). */
export function givenFlags(cmd: Command, keys: string[]): string[] {
  return keys.filter((k) => cmd.getOptionValueSource(k) === 'cli');
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let obj = target;
  for (const k of keys.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
}

/** Reads a JSON config file: an object, or a run folder's config.json ({ config, configHash, ... }). */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(
      `config file ${file} must hold a JSON object, got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'a list' : typeof parsed}`,
    );
  const obj = parsed as Record<string, unknown>;
  return 'configHash' in obj && 'config' in obj && obj.config && typeof obj.config === 'object'
    ? (obj.config as Record<string, unknown>)
    : obj;
}

/** The config input from a config file and the explicitly given flags (flags win), and which flags were given. */
export function configFromFlags(
  opts: Record<string, unknown>,
  cmd: Command,
  flags: ConfigFlag[],
  base: Record<string, unknown> = {},
): { input: TrainConfigInput; given: string[] } {
  const input = mergeInput(base, opts.config !== undefined ? readConfigFile(String(opts.config)) : {}) as Record<
    string,
    unknown
  >;
  const given = givenFlags(
    cmd,
    flags.map((f) => f.key),
  );
  for (const f of flags) if (given.includes(f.key)) setPath(input, f.path, opts[f.key]);
  return { input: input, given };
}
