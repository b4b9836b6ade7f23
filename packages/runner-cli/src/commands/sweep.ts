import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadSweepFile, planSweep, type SweepPlan } from '@grokking-tickets/experiments';
import { DEFAULT_STACK, runSweep, type QueueExecutor } from '@grokking-tickets/scheduler';
import { ConfigError } from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import { intFlag, stringFlag } from '../flags.js';
import { examples, printJson, withSignals, type RunFlags } from '../common.js';
import { progressStyle, sweepProgress, type SweepRunInfo } from '../progress.js';
import { printReport, reportInto } from './report.js';
import { checkPrunerSpec } from './ticket.js';

/** A `--queue` value: a redis:// or rediss:// URL (a usage error otherwise). */
export function queueUrlFlag(value: string): string {
  let ok = false;
  try {
    ok = ['redis:', 'rediss:'].includes(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`--queue must be a Redis URL such as redis://host:6379, got ${JSON.stringify(value)}`);
  return value;
}

/** Steps each run of a plan trains, for the ETA. */
function runInfos(plan: SweepPlan): SweepRunInfo[] {
  const exps = new Map(plan.experiments.map((e) => [e.identity, e]));
  return plan.runs.map((r) => {
    const e = r.experiment ? exps.get(r.experiment) : undefined;
    const steps = r.sameAs ? 0 : e ? (e.config.retrain.steps ?? e.config.dense.steps) : r.config!.steps;
    return { id: r.id, label: r.label, steps };
  });
}

interface SweepFlags extends RunFlags {
  out?: string;
  runs?: string;
  jobs?: number;
  queue?: string;
  queueName?: string;
  pruner?: string[];
  report?: boolean;
  dryRun?: boolean;
  stack?: number;
}

async function sweep(file: string, opts: SweepFlags): Promise<number> {
  const spec = loadSweepFile(file);
  for (const p of opts.pruner ?? []) await checkPrunerSpec(p);
  let plan: SweepPlan;
  try {
    plan = planSweep(spec, { allowPruners: opts.pruner ?? [], skipResourceCheck: opts.queue !== undefined });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`, { cause: e });
    throw e;
  }
  const sweepDir = opts.out ?? path.join('sweeps', spec.name);
  const runsDir = opts.runs ?? 'runs';
  if (opts.dryRun) {
    // Validated and planned; nothing is written.
    const finished = plan.runs.filter((r) => fs.existsSync(path.join(runsDir, r.folder, 'summary.json'))).length;
    const byRole = Object.fromEntries(
      ['train', 'dense-source', 'arm'].map((role) => [role, plan.runs.filter((r) => r.role === role).length]),
    );
    if (opts.json) printJson({ status: 'planned', sweepDir, runsDir, runs: plan.runs.length, byRole, finished });
    else
      process.stdout.write(
        `sweep ${spec.name}: ${plan.runs.length} runs (${byRole['dense-source']} dense, ${byRole.arm} arms, ${byRole.train} plain), ${finished} already finished in ${runsDir}/; nothing written (--dry-run)\n`,
      );
    return EXIT.ok;
  }
  if (opts.queue && opts.jobs !== undefined)
    throw new UsageError('--jobs does not apply with --queue: each worker sets its own --concurrency');
  if (opts.queue && opts.stack !== undefined)
    throw new UsageError(
      "--stack does not apply with --queue: queued jobs are single runs (their ids are the runs' ids)",
    );
  let executor: QueueExecutor | undefined;
  if (opts.queue) {
    // Loaded only for --queue: BullMQ and ioredis are not needed by a local sweep.
    const { checkRedis, createQueueExecutor } = await import('@grokking-tickets/scheduler/queue');
    await checkRedis(opts.queue); // a clear error before anything is written
    executor = createQueueExecutor({ url: opts.queue, queue: opts.queueName, root: runsDir });
  }
  const style = progressStyle(Boolean(opts.quiet || opts.json));
  const display = sweepProgress(style, runInfos(plan));
  let result;
  try {
    result = await withSignals((signal) =>
      runSweep({
        plan,
        sweepDir,
        runsDir,
        executor,
        jobs: executor ? Number.POSITIVE_INFINITY : (opts.jobs ?? os.availableParallelism()),
        stack: executor ? 1 : (opts.stack ?? DEFAULT_STACK),
        allowPruners: opts.pruner ?? [],
        source: file,
        signal,
        onEvent: display.onEvent,
      }),
    );
  } finally {
    display.stop();
    await executor?.close();
  }
  const { counts, files } = result;
  const report =
    opts.report && result.status !== 'interrupted'
      ? await reportInto(sweepDir, 'grokking-tickets sweep --report')
      : null;
  if (opts.json)
    printJson({ status: result.status, sweepDir, runsDir, counts, files, ...(report ? { report: report.file } : {}) });
  else {
    for (const r of result.rows.filter((row) => row.status === 'failed'))
      process.stderr.write(`sweep: failed ${r.runId}: ${r.error}\n`);
    process.stdout.write(
      `sweep ${spec.name}: ${result.rows.length} runs: ${counts.finished} finished, ${counts.failed} failed${counts.interrupted + counts.pending ? `, ${counts.interrupted} interrupted, ${counts.pending} not started` : ''}\n` +
        `results: ${path.relative(process.cwd(), files.csv)} and ${path.basename(files.jsonl)}; runs in ${runsDir}/; logs in ${path.relative(process.cwd(), files.logs)}/\n`,
    );
    if (report) printReport(report);
  }
  if (result.status === 'interrupted') {
    if (!opts.json)
      process.stderr.write(
        `sweep: interrupted; run the same command again to continue${executor ? ' (queued jobs stay on the queue)' : ''}\n`,
      );
    return EXIT.interrupted;
  }
  return result.status === 'failed' ? EXIT.runtime : EXIT.ok;
}

/** Registers `grokking-tickets sweep`. */
export function registerSweep(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('sweep')
    .summary('run a grid of training runs or ticket experiments from a sweep file')
    .description(
      'Run every point of a sweep file (JSON or YAML: a base config and axes to vary) as resumable runs. Run folders are named by the hash of their resolved config under --runs, so a rerun skips finished runs and resumes interrupted ones, and sweeps that need the same run share it (a dense run is trained once for every rate, pruner and arm that uses it). Writes <out>/sweep.json, sweep-results.jsonl and sweep-results.csv (one row per run), and a log per run in <out>/logs/. A failed run is reported and the others go on (exit code 1).',
    )
    .argument('<file>', 'sweep file (.json, .yaml or .yml)')
    .addOption(new Option('--out <dir>', 'sweep folder (default: sweeps/<sweep name>)').argParser(stringFlag('--out')))
    .addOption(
      new Option(
        '--runs <dir>',
        'folder of the run folders, shared with train, ticket and other sweeps (default: runs)',
      ).argParser(stringFlag('--runs')),
    )
    .addOption(
      new Option(
        '--jobs <n>',
        'runs trained at once, each in a child process (default: the number of cores)',
      ).argParser(intFlag('--jobs', 1)),
    )
    .addOption(
      new Option(
        '--stack <k>',
        `train up to k compatible runs that are ready together as one stacked computation, in one process (1: each alone; default: ${DEFAULT_STACK})`,
      ).argParser(intFlag('--stack', 1)),
    )
    .addOption(
      new Option(
        '--queue <url>',
        'put the runs on a BullMQ queue in Redis instead (workers: grokking-tickets worker); --runs must be the folder the workers share',
      ).argParser(queueUrlFlag),
    )
    .addOption(
      new Option('--queue-name <name>', 'BullMQ queue name (default: grokking-tickets)').argParser(
        stringFlag('--queue-name'),
      ),
    )
    .addOption(
      new Option(
        '--pruner <spec>',
        'a plug-in pruner (package name or module path) the sweep file may name; repeat for several',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), stringFlag('--pruner')(v)]),
    )
    .option(
      '--report',
      'write <out>/report.html at the end (speed-up and final accuracy against pruning rate, steps to generalise, r*) and print its path',
    )
    .option(
      '--dry-run',
      'validate and plan the sweep, say how many runs it has and how many are already finished, and write nothing',
    )
    .option('--quiet', 'no progress output')
    .option('--json', 'print the outcome as JSON on stdout');
  examples(cmd, [
    'grokking-tickets sweep examples/sweeps/tiny-rates.yaml --jobs 2 --report',
    'grokking-tickets sweep examples/paper/e3-no-weight-decay.yaml --dry-run',
    'grokking-tickets sweep e3.yaml --out sweeps/e3 --runs /shared/runs',
    'grokking-tickets sweep e3.yaml --runs /shared/runs --queue redis://queue-host:6379',
  ]);
  cmd.action(async (file: string, opts: SweepFlags) => exit(await sweep(file, opts)));
}
