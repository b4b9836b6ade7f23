import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import {
  readTicketRecord,
  resolveTicketConfig,
  ticketIdentity,
  type TicketConfigInput,
} from '@grokking-tickets/experiments';
import { runTicket } from '@grokking-tickets/scheduler';
import { RunStore } from '@grokking-tickets/run-store';
import {
  BACKENDS,
  codeDifference,
  type RunSummary,
  type TrainConfig,
  type TrainConfigInput,
} from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import { stringFlag } from '../flags.js';
import { examples, printJson, withSignals, type RunFlags } from '../common.js';
import { printReport, reportInto } from './report.js';
import { ticketReporter } from './ticket.js';

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
 * retrained for 10 000 steps; compared with the dense run itself.
 */
export const DEMO_TICKET: TicketConfigInput = { arms: ['ticket'], pruningRate: 0.6, retrain: { steps: 10000 } };

/** Why an existing demo folder cannot be reused as it is (made by other code), or null. */
function staleReason(dir: string): string | null {
  for (const run of [path.join(dir, 'dense-source'), path.join(dir, 'arms', 'ticket')]) {
    const store = new RunStore(run);
    if (!store.exists()) continue;
    const diff = codeDifference(store.readJson<{ code?: unknown }>('config.json').code);
    if (diff) return `${run}: ${diff}`;
  }
  return null;
}

interface DemoFlags extends RunFlags {
  out: string;
  backend: TrainConfig['backend'];
  force?: boolean;
}

async function demo(opts: DemoFlags): Promise<number> {
  const dir = opts.out;
  const config: TicketConfigInput = { ...DEMO_TICKET, dense: { ...DEMO_CONFIG, backend: opts.backend } };
  const exists = fs.existsSync(path.join(dir, 'ticket.json'));
  if (!exists && fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !opts.force) {
    throw new UsageError(
      `${dir} exists and holds something else; pass --force to replace it or --out to choose another folder`,
    );
  }
  let mode: 'new' | 'resume' | 'force' = opts.force ? 'force' : exists ? 'resume' : 'new';
  if (mode === 'resume') {
    const stored = readTicketRecord(dir);
    if (stored.identity !== ticketIdentity(resolveTicketConfig(config)))
      throw new UsageError(
        `${dir} holds a different experiment; pass --force to replace it or --out to choose another folder`,
      );
    const stale = staleReason(dir);
    if (stale) {
      if (!opts.quiet) process.stderr.write(`demo: ${stale}; starting the demo again\n`);
      mode = 'force';
    }
  }
  if (!opts.quiet && !opts.json) {
    process.stdout.write(
      'demo: 1) the dense MLP on (a + b) mod 67 with the reference settings (AdamW lr 1e-3, β (0.9, 0.98), weight decay 1, 40% train, 30 000 full-batch steps) memorises, then groks;\n' +
        '      2) its grokking ticket (magnitude pruning of the final weights at rate 0.6, rewound to θ0) is retrained for 10 000 steps.\n',
    );
  }
  const reporter = ticketReporter(Boolean(opts.quiet), false, 'demo');
  const result = await withSignals((signal) =>
    runTicket({ config: mode === 'resume' ? undefined : config, dir, mode, signal, onEvent: reporter.onEvent }),
  ).finally(reporter.stop);
  if (result.status === 'interrupted') {
    if (opts.json) printJson({ status: 'interrupted', dir });
    else process.stderr.write('demo: interrupted; run npm run demo again to continue\n');
    return EXIT.interrupted;
  }
  const s = result.summary!;
  const dense = new RunStore(s.denseDir).readJson<RunSummary>('summary.json');
  const ticket = s.arms.find((a) => a.arm === 'ticket')!;
  const report = await reportInto(dir, 'grokking-tickets demo');
  if (opts.json) {
    printJson({
      status: 'finished',
      dir,
      dense: { dir: s.denseDir, summary: dense },
      ticket,
      summary: path.join(dir, 'ticket-summary.json'),
      report: report.file,
    });
    return EXIT.ok;
  }
  const at = (v: number | null) => (v === null ? 'not reached' : `step ${v}`);
  process.stdout.write(
    [
      `dense run:  ${s.denseDir}`,
      `  train accuracy >= 95% at ${at(dense.stepsTo.train_acc_0_95)}, test accuracy >= 95% at ${at(dense.stepsTo.test_acc_0_95)} (final test ${(dense.final.test_acc * 100).toFixed(2)}%)`,
      `ticket run: ${ticket.dir} (${ticket.keptWeights} of ${ticket.totalWeights} weights)`,
      `  train accuracy >= 95% at ${at(ticket.stepsToTrain95)}, test accuracy >= 95% at ${at(ticket.stepsToTest95)} (final test ${(ticket.finalTestAcc * 100).toFixed(2)}%)`,
      ticket.speedupVsDense !== null
        ? `the grokking ticket generalised ${ticket.speedupVsDense.toFixed(1)}x sooner than the dense network`
        : '',
      `summary: ${path.join(dir, 'ticket-summary.json')}`,
      '',
    ].join('\n'),
  );
  printReport(report);
  return EXIT.ok;
}

/** Registers `grokking-tickets demo`. */
export function registerDemo(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('demo')
    .summary('the dense MLP memorises then groks, and its grokking ticket groks sooner')
    .description(
      'The paper in two runs: the dense MLP on (a+b) mod 67 memorises then groks (30 000 steps), and its grokking ticket (magnitude pruning at rate 0.6, rewound to θ0) groks far sooner (10 000 steps). Writes <out>/report.html (curves, norms, Fourier structure, masks) and prints its path. Resumes an interrupted demo, reprints a finished one, and starts again when the folder was made by other code versions.',
    )
    .addOption(
      new Option('--out <dir>', 'experiment folder').default(path.join('runs', 'demo')).argParser(stringFlag('--out')),
    )
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKENDS]).default('auto'))
    .option('--force', 'start again even if the folder holds a finished demo')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON on stdout');
  examples(cmd, ['npm run demo', 'grokking-tickets demo --out runs/my-demo --json']);
  cmd.action(async (opts: DemoFlags) => exit(await demo(opts)));
}
