import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  checkResources,
  configHash,
  resolveTrainConfig,
  runTraining,
  type TrainConfig,
} from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import { addFlags, configFromFlags, stringFlag, trainFlags, type ConfigFlag } from '../flags.js';
import { examples, explainRun, printJson, withSignals, type RunFlags } from '../common.js';
import { progressReporter, progressStyle } from '../progress.js';
import { printReport, reportInto, type WrittenReport } from './report.js';

/** The default run folder: `runs/<task>-<model>-s<seed>-<config hash>`. */
export function defaultRunDir(config: TrainConfig): string {
  const task = config.task.name === 'modular' ? `${config.task.op}${config.task.p}` : String(config.task.name);
  return path.join('runs', `${task}-${config.model.kind}-s${config.seed}-${configHash(config)}`);
}

interface TrainFlags extends RunFlags {
  config?: string;
  out?: string;
  resume?: boolean;
  force?: boolean;
  report?: boolean;
  [key: string]: unknown;
}

async function train(opts: TrainFlags, cmd: Command, flags: ConfigFlag[]): Promise<number> {
  if (opts.resume && opts.force) throw new UsageError('--resume and --force cannot be used together');
  const { input, given } = configFromFlags(opts, cmd, flags);
  let dir: string;
  if (opts.resume) {
    // The stored config is the truth; flags given again are laid over it and must not change it.
    if (!opts.out) throw new UsageError('--resume needs --out <run folder>');
    dir = opts.out;
  } else {
    const config = resolveTrainConfig(input);
    checkResources(config);
    dir = opts.out ?? defaultRunDir(config);
  }
  const reporter = progressReporter(progressStyle(Boolean(opts.quiet)), 'train');
  const result = await withSignals((signal) =>
    runTraining({
      config: opts.resume ? (given.length > 0 || opts.config ? input : undefined) : input,
      dir,
      mode: opts.resume ? 'resume' : opts.force ? 'force' : 'new',
      command: 'grokking-tickets train',
      signal,
      onEvent: reporter.onEvent,
    }),
  ).finally(reporter.stop);
  const report: WrittenReport | null =
    opts.report && result.status !== 'interrupted' ? await reportInto(dir, 'grokking-tickets train --report') : null;
  if (opts.json)
    printJson({
      status: result.status,
      dir: result.dir,
      step: result.step,
      summary: result.summary ?? null,
      ...(report ? { report: report.file } : {}),
    });
  if (result.status === 'interrupted') return EXIT.interrupted;
  if (!opts.json) {
    if (result.status === 'already-finished') process.stdout.write(`${dir} already finished; nothing to do\n`);
    process.stdout.write(explainRun(result));
    if (report) printReport(report);
  }
  return EXIT.ok;
}

/** Registers `grokking-tickets train`. */
export function registerTrain(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('train')
    .summary('train one model full-batch and record the run in a folder')
    .description(
      "Train one model full-batch (the paper's dense run by default: the MLP on (a+b) mod 67, AdamW lr 1e-3, λ 1, 30 000 steps) and record it in a run folder: config.json, metrics.jsonl, safetensors checkpoints, summary.json. Ctrl-C saves the state; --resume continues.",
    );
  const flags = trainFlags();
  addFlags(cmd, flags)
    .addOption(
      new Option(
        '--config <file>',
        'JSON config file (fields as in a run folder\'s config.json "config"); flags override it',
      ).argParser(stringFlag('--config')),
    )
    .addOption(
      new Option('--out <dir>', 'run folder (default: runs/<task>-<model>-s<seed>-<config hash>)').argParser(
        stringFlag('--out'),
      ),
    )
    .option('--resume', 'continue the interrupted run in --out (flags given again must match it)')
    .option('--force', 'replace the run in --out')
    .option('--report', 'write <out>/report.html at the end (curves, norms, Fourier structure) and print its path')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON on stdout');
  examples(cmd, [
    'grokking-tickets train --seed 1 --out runs/dense-s1',
    'grokking-tickets train --model transformer --steps 30000 --out runs/tf',
    'grokking-tickets train --out runs/tf --resume',
    'grokking-tickets train --task mnist --steps 100000',
    'grokking-tickets train --seed 0 --out runs/dense-s0 --report',
  ]);
  cmd.action(async (opts: TrainFlags, c: Command) => exit(await train(opts, c, flags)));
}
