import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildSweepRows,
  ensureExperimentRecord,
  plannedRunDir,
  statusOf,
  sweepRecord,
  sweepRowsToCsv,
  sweepRowsToJsonl,
  type JobOutcome,
  type PlannedRun,
  type RunJob,
  type RunState,
  type SweepPlan,
  type SweepRow,
} from '@grokking-tickets/experiments';
import { isBuiltinPruner } from '@grokking-tickets/pruners';
import { usePlugins } from '@grokking-tickets/registry';
import { RunFolderError, RunStore, writeFileAtomic } from '@grokking-tickets/run-store';
import type { RunSummary, TrainEvent } from '@grokking-tickets/training';
import { createChildProcessExecutor, type Executor } from './executors.js';
import { runPlan } from './runPlan.js';
import { DEFAULT_STACK } from './stacking.js';

/** What a sweep reports while it runs. */
export type SweepEvent =
  | { type: 'plan'; runs: number; done: number; toRun: number }
  | { type: 'start'; run: PlannedRun; job: RunJob }
  | { type: 'train'; run: PlannedRun; event: TrainEvent }
  | { type: 'done'; run: PlannedRun; outcome: JobOutcome };

/** Options of {@link runSweep}. */
export interface SweepOptions {
  plan: SweepPlan;
  /** The sweep folder: `sweep.json`, `sweep-results.jsonl`, `sweep-results.csv`, `logs/<run id>.log`. */
  sweepDir: string;
  /**
   * Where run folders live (shared by sweeps, `train` and `ticket`): `<task>-<model>-s<seed>-<hash>/`,
   * `ticket-<identity>/`.
   */
  runsDir: string;
  /** Runs the jobs (default: a pool of child processes). */
  executor?: Executor;
  /** Jobs handed to the executor at once (default: the number of cores; Infinity for a queue). */
  jobs?: number;
  /**
   * Train up to this many compatible runs (same model, task and backend) as one stacked computation
   * (default {@link DEFAULT_STACK}, as `ticket`; 1: each run alone). Runs that are ready together are
   * stacked by the scheduler's one policy, split so that the stacks fill the free slots of the pool;
   * each run still gets its own folder, bit-identical on WASM. Ignored by a queue executor, whose
   * job ids are run ids.
   */
  stack?: number;
  /**
   * Plug-in pruners the user named in this invocation: loaded here as plug-ins (see `usePlugins`),
   * so that the processes the executor starts load them too.
   */
  allowPruners?: readonly string[];
  /** Folder that relative plug-in paths resolve from (default: process.cwd()). */
  cwd?: string;
  /** The sweep file, recorded in sweep.json. */
  source?: string;
  signal?: AbortSignal;
  onEvent?: (event: SweepEvent) => void;
}

/** How a sweep ended. */
export interface SweepResult {
  status: 'finished' | 'failed' | 'interrupted';
  rows: SweepRow[];
  counts: Record<RunState['status'], number>;
  files: { sweep: string; jsonl: string; csv: string; logs: string };
}

/** A finished run on disk (summary.json, and config.json with the planned hash for plain runs), or null. */
function finishedOnDisk(run: PlannedRun, dir: string): JobOutcome | null {
  const store = new RunStore(dir);
  if (!store.isFinished()) return null;
  if (run.config && store.readRecord().configHash !== run.id)
    throw new RunFolderError(
      `${dir} holds a different run than planned (config hash ${store.readRecord().configHash}, expected ${run.id})`,
    );
  return { id: run.id, status: 'already-finished', dir, summary: store.readJson<RunSummary>('summary.json') };
}

function logLine(event: TrainEvent): string | null {
  switch (event.type) {
    case 'start':
      return `${event.resumed ? 'resuming at' : 'starting at'} step ${event.step} of ${event.steps} (backend ${event.backend}) in ${event.dir}`;
    case 'eval': {
      const r = event.row;
      return `step ${r.step} train_acc ${r.train_acc} test_acc ${r.test_acc} train_loss ${r.train_loss} test_loss ${r.test_loss}`;
    }
    case 'checkpoint':
      return `checkpoint ${event.name}`;
    case 'notice':
      return `notice: ${event.message}`;
    case 'interrupted':
      return `interrupted at step ${event.step}; state saved`;
    case 'finish':
      return `finished: test_acc >= 95% at ${event.summary.stepsTo.test_acc_0_95 ?? 'not reached'}, ${event.summary.wallTimeSec} s`;
    default:
      return null;
  }
}

/**
 * Runs a planned sweep: dense and plain runs first, each experiment's arms as soon as its dense run
 * has finished (dependency-aware, through any {@link Executor}, at most `jobs` at once). Runs already
 * finished on disk are skipped, interrupted ones resume; a failed run is recorded (its arms with it)
 * and the others go on. The sweep folder is locked while it runs; `sweep.json` is written first and
 * the results after every run, atomically. Aborting stops new starts and lets running jobs save
 * their state; running the same sweep again continues.
 * @example
 * const plan = planSweep(loadSweepFile('examples/sweeps/tiny-rates.yaml'));
 * const result = await runSweep({ plan, sweepDir: 'sweeps/tiny-rates', runsDir: 'runs', jobs: 2 });
 * result.counts; // { finished: 33, failed: 0, interrupted: 0, pending: 0 }
 */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const { plan, signal } = options;
  const sweepDir = path.resolve(options.sweepDir);
  const runsDir = path.resolve(options.runsDir);
  const emit = options.onEvent ?? (() => {});
  const files = {
    sweep: path.join(sweepDir, 'sweep.json'),
    jsonl: path.join(sweepDir, 'sweep-results.jsonl'),
    csv: path.join(sweepDir, 'sweep-results.csv'),
    logs: path.join(sweepDir, 'logs'),
  };
  const store = new RunStore(sweepDir);
  const lock = store.lock('grokking-tickets sweep');
  try {
    fs.mkdirSync(runsDir, { recursive: true });
    fs.mkdirSync(files.logs, { recursive: true });
    store.writeJson('sweep.json', sweepRecord(plan, sweepDir, runsDir, options.source));
    const states = new Map<string, RunState>();
    let rows: SweepRow[] = [];
    const writeResults = () => {
      rows = buildSweepRows(plan, states, sweepDir);
      writeFileAtomic(files.jsonl, sweepRowsToJsonl(rows));
      writeFileAtomic(files.csv, sweepRowsToCsv(rows));
    };
    const log = (run: PlannedRun, line: string) =>
      fs.appendFileSync(path.join(files.logs, `${run.id}.log`), `${new Date().toISOString()} ${line}\n`);

    // What is finished already.
    const done = new Map<string, JobOutcome>();
    for (const run of plan.runs) {
      const dir = plannedRunDir(run, runsDir);
      const finished = finishedOnDisk(run, dir);
      if (finished) {
        done.set(run.id, finished);
        states.set(run.id, { status: 'finished', dir });
      }
    }
    emit({ type: 'plan', runs: plan.runs.length, done: done.size, toRun: plan.runs.length - done.size });
    writeResults();

    const executor = options.executor ?? createChildProcessExecutor({ concurrency: 1 });
    const cwd = options.cwd ?? process.cwd();
    await usePlugins((options.allowPruners ?? []).filter((p) => !isBuiltinPruner(p)).map((spec) => ({ spec, cwd })));
    const outcomes = await runPlan({
      plan,
      runsDir,
      executor,
      jobs: options.jobs ?? os.availableParallelism(),
      stack: options.stack ?? DEFAULT_STACK,
      done,
      signal,
      beforeArms: (exp) => ensureExperimentRecord(plan, exp.identity, runsDir),
      onStart: (run, job, size) => {
        emit({ type: 'start', run, job });
        log(
          run,
          `start ${run.label} (${run.id})${size > 1 ? ` stacked with ${size - 1} other run${size > 2 ? 's' : ''}` : ''}`,
        );
      },
      onEvent: (run, event) => {
        const line = logLine(event);
        if (line) log(run, line);
        emit({ type: 'train', run, event });
      },
      onDone: (run, outcome) => {
        const status = statusOf(outcome);
        states.set(run.id, { status, dir: outcome.dir, ...(outcome.error ? { error: outcome.error.message } : {}) });
        log(
          run,
          status === 'failed'
            ? `failed: ${outcome.error?.message}`
            : status === 'interrupted'
              ? 'interrupted'
              : `${outcome.status}`,
        );
        emit({ type: 'done', run, outcome });
        writeResults();
      },
    });
    if (signal?.aborted)
      for (const run of plan.runs) if (!outcomes.has(run.id)) log(run, 'not started (sweep interrupted)');
    writeResults();
    const counts = { finished: 0, failed: 0, interrupted: 0, pending: 0 };
    for (const r of rows) counts[r.status]++;
    const status = counts.interrupted + counts.pending > 0 ? 'interrupted' : counts.failed > 0 ? 'failed' : 'finished';
    return { status, rows, counts, files };
  } finally {
    lock.release();
  }
}
