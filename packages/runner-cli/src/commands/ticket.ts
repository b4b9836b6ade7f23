import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  arms,
  resolveTicketConfig,
  ticketConfigInputSchema,
  ticketIdentity,
  type TicketConfigInput,
  type TicketSummary,
} from '@grokking-tickets/experiments';
import { getPruner, loadPruner, pruners } from '@grokking-tickets/pruners';
import { DEFAULT_STACK, runTicket, type TicketEvent } from '@grokking-tickets/scheduler';
import { mergeInput, schemaField, trainConfigInputSchema } from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import {
  addFlags,
  flagFromField,
  flagName,
  givenFlags,
  intFlag,
  readConfigFile,
  stringFlag,
  taskDefault,
  trainFlags,
  type ConfigFlag,
} from '../flags.js';
import { examples, printJson, withSignals, type RunFlags } from '../common.js';
import { progressReporter, progressStyle } from '../progress.js';
import { printReport, reportInto, type WrittenReport } from './report.js';

/**
 * The training flags of `ticket`: they describe the dense run, except `--weight-decay`, which is
 * the retraining λ (`retrain.weightDecay` of the ticket config).
 */
function denseFlags(): ConfigFlag[] {
  const ticketOnly = ticketFlags().map((f) => f.flag);
  return trainFlags(ticketOnly).map((f) =>
    f.key === 'weightDecay'
      ? flagFromField({
          path: ['retrain', 'weightDecay'],
          field: schemaField(ticketConfigInputSchema, ['retrain', 'weightDecay']),
          name: 'weight-decay',
          defaultText: "the dense run's; 0 = the no-weight-decay experiment",
        })
      : f.key === 'steps'
        ? { ...f, path: ['dense', ...f.path], option: withDescription(f, 'full-batch updates of the dense run') }
        : f.key === 'evalEvery'
          ? {
              ...f,
              path: ['dense', ...f.path],
              option: withDescription(
                f,
                "evaluate every n steps, in the dense run and the arms; with --dense, in the arms (default: 100, or the dense run's)",
                false,
              ),
            }
          : { ...f, path: ['dense', ...f.path] },
  );
}

/** A flag's option with another description (its default kept unless `keepDefault` is false). */
function withDescription(f: ConfigFlag, text: string, keepDefault = true): () => Option {
  return () => {
    const o = f.option();
    const dflt = keepDefault ? /\(default: .*\)$/.exec(o.description)?.[0] : undefined;
    o.description = dflt ? `${text} ${dflt}` : text;
    return o;
  };
}

/**
 * Dense flags allowed with --dense: those that only say which dense run is meant (they must match
 * it: the task's and the model's), the retraining λ, and --eval-every (then the arms' evaluation
 * interval).
 */
function allowedWithDense(flags: readonly ConfigFlag[]): Set<string> {
  return new Set([
    ...flags.filter((f) => f.path[1] === 'task' || f.path[1] === 'model').map((f) => f.key),
    'seed',
    'weightDecay',
    'evalEvery',
  ]);
}

/** The ticket-only flags, from the ticket config's schema. */
function ticketFlags(): ConfigFlag[] {
  const t = ticketConfigInputSchema;
  const d = resolveTicketConfig({});
  const field = (...path: string[]) => schemaField(t, path);
  return [
    flagFromField({ path: ['denseDir'], field: field('denseDir'), name: 'dense', placeholder: '<dir>' }),
    flagFromField({ path: ['fromStep'], field: field('fromStep'), defaultText: String(d.fromStep) }),
    flagFromField({
      path: ['pruner'],
      field: field('pruner'),
      description: `a built-in (${pruners.names().join(', ')}), an installed package, or a module path`,
      defaultText: d.pruner,
    }),
    flagFromField({
      path: ['pruningRate'],
      field: field('pruningRate'),
      placeholder: '<r>',
      defaultText: `${d.pruningRate}, i.e. keep ${Math.round((1 - d.pruningRate) * 100)} %`,
    }),
    flagFromField({ path: ['scope'], field: field('scope'), defaultText: d.scope, checkChoices: true }),
    flagFromField({
      path: ['schedule'],
      field: field('schedule'),
      description: 'pruning schedule over --rounds',
      defaultText: d.schedule,
      checkChoices: true,
    }),
    flagFromField({ path: ['rounds'], field: field('rounds'), defaultText: String(d.rounds) }),
    flagFromField({ path: ['invert'], field: field('invert') }),
    flagFromField({ path: ['shuffle'], field: field('shuffle') }),
    flagFromField({ path: ['rewindStep'], field: field('rewindStep'), defaultText: String(d.rewindStep) }),
    flagFromField({
      path: ['prunable'],
      field: field('prunable'),
      description: 'parameters to prune, comma-separated (default: every weight matrix, embeddings included)',
    }),
    flagFromField({
      path: ['arms'],
      field: field('arms'),
      description: `comma-separated arms: ${arms.names().join(', ')}`,
      defaultText: d.arms.join(','),
    }),
    flagFromField({
      path: ['dense', 'optimizer', 'weightDecay'],
      field: schemaField(trainConfigInputSchema, ['optimizer', 'weightDecay']),
      name: 'dense-weight-decay',
      description: 'weight decay λ of the dense run',
      defaultText: taskDefault((c) => c.optimizer.weightDecay),
    }),
    flagFromField({
      path: ['retrain', 'steps'],
      field: field('retrain', 'steps'),
      name: 'retrain-steps',
      defaultText: "the dense run's",
    }),
    flagFromField({
      path: ['normDefinition'],
      field: field('normDefinition'),
      defaultText: d.normDefinition,
      checkChoices: true,
    }),
  ];
}

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

async function ticket(
  opts: TicketFlags,
  cmd: Command,
  DENSE_FLAGS: ConfigFlag[],
  TICKET_FLAGS: ConfigFlag[],
): Promise<number> {
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
    const allowed = allowedWithDense(DENSE_FLAGS);
    const fixed = [
      ...denseGiven.filter((k) => !allowed.has(k)),
      ...ticketGiven.filter((k) => k === 'denseWeightDecay'),
    ];
    if (fixed.length > 0) {
      throw new UsageError(
        `${fixed.map((k) => flagName(k, [...DENSE_FLAGS, ...TICKET_FLAGS])).join(', ')} ${fixed.length > 1 ? 'do' : 'does'} not apply with --dense: the reused dense run's settings are fixed (use --weight-decay and --retrain-steps for the retrained arms)`,
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
  const DENSE_FLAGS = denseFlags();
  const TICKET_FLAGS = ticketFlags();
  addFlags(cmd, DENSE_FLAGS);
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
  cmd.action(async (opts: TicketFlags, c: Command) => exit(await ticket(opts, c, DENSE_FLAGS, TICKET_FLAGS)));
}
