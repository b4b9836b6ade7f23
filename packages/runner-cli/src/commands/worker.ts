import { Option, type Command } from 'commander';
import type { WorkerEvent } from '@grokking-tickets/scheduler';
import { EXIT } from '../errors.js';
import { intFlag, stringFlag } from '../flags.js';
import { examples, withSignals } from '../common.js';
import { queueUrlFlag } from './sweep.js';
import { checkPrunerSpec } from './ticket.js';

interface WorkerFlags {
  queue: string;
  queueName?: string;
  out?: string;
  pruner?: string[];
  concurrency?: number;
  lockDuration?: number;
  quiet?: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** One line per worker event (progress at most every tenth of a run). */
function workerLines(quiet: boolean) {
  const shown = new Map<string, number>();
  return (e: WorkerEvent) => {
    const say = (text: string) => process.stderr.write(`worker: ${text}\n`);
    switch (e.type) {
      case 'ready':
        say(
          `taking jobs from queue ${e.queue} at ${e.url.replace(/\/\/[^@/]*@/, '//***@')}, writing runs in ${e.root} (${e.concurrency} at once)`,
        );
        break;
      case 'active':
        say(`start ${e.label} (${e.id}, try ${e.attempt})`);
        break;
      case 'progress': {
        if (quiet || e.event.type !== 'eval') break;
        const r = e.event.row;
        const tenth = Math.floor((10 * r.step) / e.event.steps);
        if (shown.get(e.id) === tenth && r.step !== e.event.steps) break;
        shown.set(e.id, tenth);
        say(`${e.label}: step ${r.step}/${e.event.steps} train_acc ${pct(r.train_acc)} test_acc ${pct(r.test_acc)}`);
        break;
      }
      case 'completed':
        say(`${e.outcome.status} ${e.label} (${e.id})`);
        break;
      case 'failed':
        say(`failed ${e.label} (${e.id}): ${e.error}${e.willRetry ? ' (will be retried)' : ''}`);
        break;
      case 'closing':
        say('stopping: running jobs save their state and go back to the queue');
        break;
    }
  };
}

async function worker(opts: WorkerFlags): Promise<number> {
  for (const p of opts.pruner ?? []) await checkPrunerSpec(p);
  const { runQueueWorker } = await import('@grokking-tickets/scheduler/queue');
  const result = await withSignals((signal) =>
    runQueueWorker({
      url: opts.queue,
      queue: opts.queueName,
      root: opts.out ?? 'runs',
      allowPruners: opts.pruner ?? [],
      concurrency: opts.concurrency ?? 1,
      lockDurationMs: opts.lockDuration,
      signal,
      onEvent: workerLines(Boolean(opts.quiet)),
    }),
  );
  process.stderr.write(`worker: stopped after ${result.completed} finished and ${result.failed} failed jobs\n`);
  return EXIT.interrupted;
}

/** Registers `grokking-tickets worker`. */
export function registerWorker(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('worker')
    .summary('take sweep runs from a BullMQ queue in Redis and train them')
    .description(
      'Take runs from the queue that `sweep --queue` fills and train them, each in a child process, writing run folders into --out (the runs folder the sweep machine shares). A run finished there is skipped, an interrupted one resumes. If this worker dies, its job goes to another worker after --lock-duration; Ctrl-C saves the running jobs and hands them back. Plug-in pruners load only from --pruner names given here, never from the queue.',
    )
    .addOption(
      new Option('--queue <url>', 'Redis URL, e.g. redis://queue-host:6379')
        .argParser(queueUrlFlag)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--queue-name <name>', 'BullMQ queue name (default: grokking-tickets)').argParser(
        stringFlag('--queue-name'),
      ),
    )
    .addOption(
      new Option('--out <dir>', 'the shared runs folder as mounted on this machine (default: runs)').argParser(
        stringFlag('--out'),
      ),
    )
    .addOption(
      new Option(
        '--pruner <spec>',
        'a plug-in pruner this worker may load (package name or module path); repeat for several',
      ).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), stringFlag('--pruner')(v)]),
    )
    .addOption(
      new Option('--concurrency <n>', 'jobs at once, one child process each (default: 1)').argParser(
        intFlag('--concurrency', 1),
      ),
    )
    .addOption(
      new Option(
        '--lock-duration <ms>',
        "how long a job stays this worker's without a heartbeat; a killed worker's job is retried after it (default: 30000)",
      ).argParser(intFlag('--lock-duration', 1000)),
    )
    .option('--quiet', 'no progress lines (job starts and ends only)');
  examples(cmd, [
    'grokking-tickets worker --queue redis://queue-host:6379 --out /mnt/shared/runs',
    'grokking-tickets worker --queue redis://queue-host:6379 --out /mnt/shared/runs --concurrency 4',
    'grokking-tickets worker --queue redis://queue-host:6379 --pruner @grokking-tickets/pruner-magnitude-increase',
  ]);
  cmd.action(async (opts: WorkerFlags) => exit(await worker(opts)));
}
