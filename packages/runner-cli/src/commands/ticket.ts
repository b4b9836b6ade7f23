import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  DEFAULT_STACK,
  listArms,
  resolveTicketConfig,
  runTicket,
  ticketIdentity,
  type TicketConfigInput,
  type TicketEvent,
  type TicketSummary,
} from '@grokking-tickets/experiments';
import { getPruner, listPruners, loadPruner } from '@grokking-tickets/pruners';
import { mergeInput } from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import {
  TRAIN_FLAGS,
  addFlags,
  flagName,
  givenFlags,
  intFlag,
  listFlag,
  numberFlag,
  readConfigFile,
  stepFlag,
  stringFlag,
  type ConfigFlag,
} from '../flags.js';
import { examples, printJson, withSignals, type RunFlags } from '../common.js';
import { progressReporter, progressStyle } from '../progress.js';
import { printReport, reportInto, type WrittenReport } from './report.js';

/** The training flags of `ticket`: they describe the dense run, except `--weight-decay` (the retraining λ). */
const DENSE_FLAGS: ConfigFlag[] = TRAIN_FLAGS.map((f) =>
  f.key === 'weightDecay' ? { ...f, path: ['retrain', 'weightDecay'] } : { ...f, path: ['dense', ...f.path] },
);
/**
 * Dense flags allowed with --dense: those that only say which dense run is meant (they must match
 * it), the retraining λ, and --eval-every (then the arms' evaluation interval).
 */
const ALLOWED_WITH_DENSE = new Set([
  'task',
  'op',
  'p',
  'trainFraction',
  'symmetric',
  'trainSize',
  'mnistCodeCompat',
  'dataDir',
  'model',
  'weightScale',
  'seed',
  'weightDecay',
  'evalEvery',
]);

/** The ticket-only flags, as a table like the training ones. */
const TICKET_FLAGS: ConfigFlag[] = [
  {
    key: 'dense',
    path: ['denseDir'],
    option: () =>
      new Option('--dense <dir>', 'reuse this finished dense run folder instead of training one').argParser(
        stringFlag('--dense'),
      ),
  },
  {
    key: 'fromStep',
    path: ['fromStep'],
    option: () =>
      new Option(
        '--from-step <n|final>',
        'checkpoint to prune: final, or the weights after n updates (e.g. 2000 = memorisation) (default: final)',
      ).argParser(stepFlag('--from-step', 'final')),
  },
  {
    key: 'pruner',
    path: ['pruner'],
    option: () =>
      new Option(
        '--pruner <name>',
        `a built-in (${listPruners().join(', ')}), an installed package, or a module path (default: magnitude)`,
      ).argParser(stringFlag('--pruner')),
  },
  {
    key: 'pruningRate',
    path: ['pruningRate'],
    option: () =>
      new Option(
        '--pruning-rate <r>',
        'fraction of weights removed, in [0, 1) (default: 0.6, i.e. keep 40 %)',
      ).argParser(numberFlag('--pruning-rate')),
  },
  {
    key: 'scope',
    path: ['scope'],
    option: () =>
      new Option('--scope <scope>', 'one threshold over all weights, or one per tensor (default: global)').choices([
        'global',
        'local',
      ]),
  },
  {
    key: 'schedule',
    path: ['schedule'],
    option: () =>
      new Option('--schedule <s>', 'pruning schedule over --rounds (default: one-shot)').choices([
        'one-shot',
        'linear',
        'exponential',
      ]),
  },
  {
    key: 'rounds',
    path: ['rounds'],
    option: () =>
      new Option('--rounds <n>', 'scoring rounds of the schedule (default: 1)').argParser(intFlag('--rounds', 1)),
  },
  { key: 'invert', path: ['invert'], option: () => new Option('--invert', 'keep the lowest scores instead') },
  {
    key: 'shuffle',
    path: ['shuffle'],
    option: () => new Option('--shuffle', "shuffle each tensor's mask (same per-tensor density)"),
  },
  {
    key: 'rewindStep',
    path: ['rewindStep'],
    option: () =>
      new Option(
        '--rewind-step <n|init>',
        'rewind the ticket to θ0 (init) or to the weights after n updates (default: init)',
      ).argParser(stepFlag('--rewind-step', 'init')),
  },
  {
    key: 'prunable',
    path: ['prunable'],
    option: () =>
      new Option(
        '--prunable <list>',
        'parameters to prune, comma-separated (default: every weight matrix, embeddings included)',
      ).argParser(listFlag('--prunable')),
  },
  {
    key: 'arms',
    path: ['arms'],
    option: () =>
      new Option('--arms <list>', `comma-separated arms: ${listArms().join(', ')} (default: ticket,dense)`).argParser(
        listFlag('--arms'),
      ),
  },
  {
    key: 'denseWeightDecay',
    path: ['dense', 'optimizer', 'weightDecay'],
    option: () =>
      new Option('--dense-weight-decay <x>', 'weight decay λ of the dense run (default: 1, 0.1 for MNIST)').argParser(
        numberFlag('--dense-weight-decay'),
      ),
  },
  {
    key: 'retrainSteps',
    path: ['retrain', 'steps'],
    option: () =>
      new Option('--retrain-steps <n>', "steps of every retrained arm (default: the dense run's)").argParser(
        intFlag('--retrain-steps', 1),
      ),
  },
  {
    key: 'normDefinition',
    path: ['normDefinition'],
    option: () =>
      new Option('--norm-definition <d>', 'norms for the same-norm controls (default: global)').choices([
        'global',
        'perTensorSum',
      ]),
  },
];

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let obj = target;
  for (const k of keys.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
  obj[keys[keys.length - 1]!] = value;
}

/** The table printed at the end of a ticket experiment. */
export function formatTicketTable(summary: TicketSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const header = [
    'arm',
    'test>=95%',
    'speedup',
    'train>=95%',
    'final train',
    'final test',
    'kept',
    'L1 init',
    'L2 init',
    'L2 final',
  ];
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
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    `pruner ${summary.config.pruner} on ${summary.scoredCheckpoint}, pruning rate ${summary.pruningRate} (keep ${summary.kept}/${summary.total}); α1 ${summary.alphaL1.toFixed(4)}, α2 ${summary.alphaL2.toFixed(4)} (${summary.normDefinition} norms)`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}

/** A progress handler for a ticket experiment: one reporter per arm; plain lines when arms run in parallel. */
export function ticketReporter(quiet: boolean, parallel: boolean, prefix: string) {
  const style = progressStyle(quiet);
  const reporters = new Map<string, ReturnType<typeof progressReporter>>();
  const onEvent = (e: TicketEvent) => {
    if (e.type === 'phase') {
      if (style !== 'quiet') process.stderr.write(`${prefix}: ${e.message}\n`);
      return;
    }
    let r = reporters.get(e.arm);
    // Several bars at once would garble a terminal: parallel arms report in plain lines.
    if (!r)
      reporters.set(
        e.arm,
        (r = progressReporter(
          style === 'bar' && parallel ? 'lines' : style,
          e.arm === 'dense-source' ? 'dense' : e.arm,
        )),
      );
    r.onEvent(e.event);
  };
  return { onEvent, stop: () => reporters.forEach((r) => r.stop()) };
}

/** Checks a --pruner spec now, so that a bad name is a usage error before anything runs. */
export async function checkPrunerSpec(spec: string | undefined): Promise<void> {
  if (spec === undefined) return;
  try {
    getPruner(spec);
  } catch {
    try {
      await loadPruner(spec, process.cwd());
    } catch (e) {
      throw new UsageError((e as Error).message, { cause: e });
    }
  }
}

interface TicketFlags extends RunFlags {
  config?: string;
  out?: string;
  resume?: boolean;
  force?: boolean;
  jobs?: number;
  report?: boolean;
  stack?: number;
  [key: string]: unknown;
}

async function ticket(opts: TicketFlags, cmd: Command): Promise<number> {
  if (opts.resume && opts.force) throw new UsageError('--resume and --force cannot be used together');
  const denseGiven = givenFlags(
    cmd,
    DENSE_FLAGS.map((f) => f.key),
  );
  const ticketGiven = givenFlags(
    cmd,
    TICKET_FLAGS.map((f) => f.key),
  );
  if (opts.dense !== undefined) {
    const fixed = [
      ...denseGiven.filter((k) => !ALLOWED_WITH_DENSE.has(k)),
      ...ticketGiven.filter((k) => k === 'denseWeightDecay'),
    ];
    if (fixed.length > 0) {
      throw new UsageError(
        `${fixed.map(flagName).join(', ')} ${fixed.length > 1 ? 'do' : 'does'} not apply with --dense: the reused dense run's settings are fixed (use --weight-decay and --retrain-steps for the retrained arms)`,
      );
    }
    if (opts.config !== undefined)
      throw new UsageError('--config does not apply with --dense: the dense run is given by its folder');
  }
  const input = opts.config !== undefined ? readConfigFile(opts.config) : {};
  for (const f of [...DENSE_FLAGS, ...TICKET_FLAGS]) {
    if (![...denseGiven, ...ticketGiven].includes(f.key)) continue;
    // With a reused dense run, --eval-every sets the arms' interval (the dense run's is fixed).
    const where = f.key === 'evalEvery' && opts.dense !== undefined ? ['retrain', 'evalEvery'] : f.path;
    setPath(input, where, opts[f.key]);
  }
  const config = input as TicketConfigInput;
  await checkPrunerSpec(config.pruner);
  let dir: string;
  if (opts.resume) {
    if (!opts.out) throw new UsageError('--resume needs --out <experiment folder>');
    dir = opts.out;
  } else {
    const resolved = resolveTicketConfig(mergeInput({}, config) as TicketConfigInput);
    dir = opts.out ?? path.join('runs', `ticket-${ticketIdentity(resolved)}`);
  }
  const jobs = opts.jobs ?? 1;
  const stack = opts.stack ?? DEFAULT_STACK;
  // Stacked arms train together, so their progress interleaves as parallel arms' does.
  const reporter = ticketReporter(Boolean(opts.quiet), jobs > 1 || stack > 1, 'ticket');
  const result = await withSignals((signal) =>
    runTicket({
      config:
        opts.resume && denseGiven.length + ticketGiven.length === 0 && opts.config === undefined ? undefined : config,
      dir,
      mode: opts.resume ? 'resume' : opts.force ? 'force' : 'new',
      jobs,
      stack,
      signal,
      onEvent: reporter.onEvent,
    }),
  ).finally(reporter.stop);
  const report: WrittenReport | null =
    opts.report && result.status === 'finished' ? await reportInto(dir, 'grokking-tickets ticket --report') : null;
  if (opts.json)
    printJson({
      status: result.status,
      dir,
      summary: result.summary ?? null,
      ...(report ? { report: report.file } : {}),
    });
  if (result.status === 'interrupted') {
    if (!opts.json) process.stderr.write(`ticket: interrupted; continue with --out ${dir} --resume\n`);
    return EXIT.interrupted;
  }
  if (!opts.json) {
    process.stdout.write(`${formatTicketTable(result.summary!)}\nticket folder: ${dir} (ticket-summary.json)\n`);
    if (report) printReport(report);
  }
  return EXIT.ok;
}

/** Registers `grokking-tickets ticket`. */
export function registerTicket(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('ticket')
    .summary('find a grokking ticket and run its controls')
    .description(
      'Find a grokking ticket and run its controls (docs/protocol.md §6): train the dense run (or reuse --dense), prune its checkpoint with the pruner at the pruning rate, rewind to θ0 and retrain, alongside the arms you ask for, one resumable run folder per arm under <out>/arms/.',
    );
  addFlags(cmd, DENSE_FLAGS, {
    weightDecay: "weight decay λ of every retrained arm (default: the dense run's; 0 = the no-weight-decay experiment)",
    steps: 'full-batch updates of the dense run (default: 30000, 100000 for MNIST)',
    evalEvery:
      "evaluate every n steps, in the dense run and the arms; with --dense, in the arms (default: 100, or the dense run's)",
  });
  addFlags(cmd, TICKET_FLAGS)
    .addOption(
      new Option(
        '--config <file>',
        'JSON ticket config ({"dense": {...}, "pruningRate": 0.6, ...}); flags override it',
      ).argParser(stringFlag('--config')),
    )
    .addOption(
      new Option('--out <dir>', 'experiment folder (default: runs/ticket-<experiment hash>)').argParser(
        stringFlag('--out'),
      ),
    )
    .addOption(
      new Option('--jobs <n>', 'arms to train at once, in worker threads (default: 1)').argParser(intFlag('--jobs', 1)),
    )
    .addOption(
      new Option(
        '--stack <k>',
        `train up to k arms as one stacked computation per worker (same results as one by one; 1 = off) (default: ${DEFAULT_STACK})`,
      ).argParser(intFlag('--stack', 1)),
    )
    .option('--resume', 'continue the experiment in --out (settings given again must match; more --arms may be added)')
    .option('--force', 'replace the experiment in --out (never a --dense run it reads)')
    .option(
      '--report',
      "write <out>/report.html at the end (every arm's curves, norms, Fourier structure, masks) and print its path",
    )
    .option('--quiet', 'no progress output')
    .option('--json', 'print the summary as JSON on stdout');
  examples(cmd, [
    'grokking-tickets ticket --arms ticket,dense,same-l1,same-l2,random --jobs 2 --out runs/ticket-s0 --report',
    'grokking-tickets ticket --arms ticket,dense,same-l1,same-l2,random --stack 1 --out runs/ticket-s0-unstacked',
    'grokking-tickets ticket --dense runs/dense-s0 --from-step 2000 --arms ticket --out runs/mem-s0',
    'grokking-tickets ticket --dense runs/dense-s0 --weight-decay 0 --pruning-rate 0.8 --arms ticket,dense',
    'grokking-tickets ticket --dense runs/dense-s0 --pruner @grokking-tickets/pruner-magnitude-increase',
  ]);
  cmd.action(async (opts: TicketFlags, c: Command) => exit(await ticket(opts, c)));
}
