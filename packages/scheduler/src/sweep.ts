import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunFolderError, RunStore, writeFileAtomic } from '@grokking-tickets/run-store';
import { createModel } from '@grokking-tickets/models';
import { canStack, stackKey, type RunSummary, type TrainEvent } from '@grokking-tickets/training';
import { createChildProcessExecutor, type Executor, type JobOutcome, type RunJob } from './executors.js';
import { retrainConfig } from './ticketConfig.js';
import {
  buildSweepRows,
  statusOf,
  sweepRowsToCsv,
  sweepRowsToJsonl,
  type RunState,
  type SweepRow,
} from './sweepResults.js';
import type { PlannedRun, SweepPlan } from './sweepSpec.js';
import { readTicketRecord, type TicketRecord } from './ticket.js';

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
   * (default 1: each run alone). Runs that are ready together are stacked, split so that the stacks
   * fill the free slots of the pool; each run still gets its own folder, bit-identical on WASM.
   * Not for a queue executor, whose job ids are run ids.
   */
  stack?: number;
  /** Plug-in pruners the user named in this invocation, passed to the arm jobs that use them. */
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

/** The folder of a planned run. */
export function plannedRunDir(run: PlannedRun, runsDir: string): string {
  return path.resolve(runsDir, run.folder);
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

/**
 * Writes an experiment's `ticket.json` (its resolved config and identity, and the shared dense run
 * relative to it) unless it is already there; an experiment folder holding another experiment is refused.
 */
function ensureExperiment(plan: SweepPlan, identity: string, runsDir: string): void {
  const exp = plan.experiments.find((e) => e.identity === identity)!;
  const dir = path.resolve(runsDir, exp.folder);
  const folderOf = (id: string) =>
    path.relative(dir, path.resolve(runsDir, plan.runs.find((r) => r.id === id)!.folder));
  const denseRun = folderOf(exp.denseRun);
  // The mask-free dense arm is a shared plain run outside the experiment folder; recording it lets a
  // report of the experiment folder alone find it (it is the dense run itself when the settings agree).
  const denseArm = exp.denseArm !== undefined ? folderOf(exp.denseArm) : undefined;
  const store = new RunStore(dir);
  const lock = store.lock('grokking-tickets sweep (experiment record)');
  try {
    if (fs.existsSync(store.file('ticket.json'))) {
      const existing = readTicketRecord(dir);
      if (existing.identity !== identity)
        throw new RunFolderError(`${dir} holds experiment ${existing.identity}, not ${identity}`);
      if (existing.denseRun === denseRun && existing.denseArm === denseArm) return;
    }
    store.writeJson('ticket.json', {
      config: { ...exp.config, denseDir: null },
      identity,
      denseRun,
      ...(denseArm !== undefined ? { denseArm } : {}),
    } satisfies TicketRecord);
  } finally {
    lock.release();
  }
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

/** The resolved sweep as written to sweep.json (the file the report reads with the results). */
export function sweepRecord(
  plan: SweepPlan,
  sweepDir: string,
  runsDir: string,
  source?: string,
): Record<string, unknown> {
  const rel = (p: string) => path.relative(sweepDir, p) || '.';
  return {
    format: 1,
    name: plan.spec.name,
    ...(plan.spec.description !== undefined ? { description: plan.spec.description } : {}),
    kind: plan.spec.kind,
    ...(source ? { source: path.resolve(source) } : {}),
    runsDir: rel(path.resolve(runsDir)),
    base: plan.spec.base,
    axes: plan.spec.axes,
    points: plan.points,
    experiments: plan.experiments.map((e) => ({
      identity: e.identity,
      dir: rel(path.resolve(runsDir, e.folder)),
      denseRun: e.denseRun,
      ...(e.denseArm ? { denseArm: e.denseArm } : {}),
      config: e.config,
    })),
    runs: plan.runs.map((r) => ({
      id: r.id,
      role: r.role,
      label: r.label,
      dir: rel(plannedRunDir(r, runsDir)),
      points: r.points,
      ...(r.experiment ? { experiment: r.experiment, arm: r.arm } : {}),
      ...(r.dependsOn ? { dependsOn: r.dependsOn } : {}),
      ...(r.sameAs ? { sameAs: r.sameAs } : {}),
      ...(r.config ? { config: r.config } : {}),
    })),
    files: { results: 'sweep-results.jsonl', csv: 'sweep-results.csv', logs: 'logs' },
  };
}

/**
 * Runs a planned sweep: dense and plain runs first, each experiment's arms as soon as its dense run
 * has finished (dependency-aware, through any {@link Executor}, at most `jobs` at once). Runs already
 * finished on disk are skipped, interrupted ones resume; a failed run is recorded (its arms with it)
 * and the others go on. The sweep folder is locked while it runs; `sweep.json` is written first and
 * the results after every run, atomically. Aborting stops new starts and lets running jobs save
 * their state; running the same sweep again continues.
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
    const pending: PlannedRun[] = [];
    for (const run of plan.runs) {
      const dir = plannedRunDir(run, runsDir);
      const done = finishedOnDisk(run, dir);
      if (done) states.set(run.id, { status: 'finished', dir });
      else pending.push(run);
    }
    emit({ type: 'plan', runs: plan.runs.length, done: plan.runs.length - pending.length, toRun: pending.length });
    writeResults();

    const executor = options.executor ?? createChildProcessExecutor({ concurrency: 1 });
    const limit = Math.max(1, options.jobs ?? os.availableParallelism());
    const cwd = options.cwd ?? process.cwd();
    const experimentsReady = new Set<string>();
    const jobOf = (run: PlannedRun): RunJob => {
      if (run.role === 'arm' && !run.config) {
        const exp = plan.experiments.find((e) => e.identity === run.experiment)!;
        const plugin = (options.allowPruners ?? []).includes(exp.config.pruner);
        return {
          kind: 'arm',
          id: run.id,
          label: run.label,
          experimentDir: path.resolve(runsDir, exp.folder),
          arm: run.arm!,
          ...(plugin ? { prunerSpec: exp.config.pruner, cwd } : {}),
        };
      }
      return { kind: 'train', id: run.id, label: run.label, dir: plannedRunDir(run, runsDir), config: run.config! };
    };
    const waiting = [...pending];
    const running = new Set<Promise<void>>();
    const finish = (run: PlannedRun, outcome: JobOutcome) => {
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
    };
    /** The stack key of a run (runs with the same key can train as one stacked computation), or null. */
    const stackKeys = new Map<string, string | null>();
    const stackKeyOf = (run: PlannedRun): string | null => {
      if (!stackKeys.has(run.id)) {
        let key: string | null = null;
        try {
          const exp =
            run.role === 'arm' && !run.config ? plan.experiments.find((e) => e.identity === run.experiment) : undefined;
          const config = run.config ?? (exp ? retrainConfig(exp.config) : null);
          if (config) {
            const { kind, ...opts } = config.model;
            if (canStack(createModel(kind, opts))) key = stackKey(config);
          }
        } catch {
          key = null;
        }
        stackKeys.set(run.id, key);
      }
      return stackKeys.get(run.id)!;
    };
    /** Ready runs (dependency met, trained by themselves) with this stack key, without taking them. */
    const readyWith = (key: string): PlannedRun[] =>
      waiting.filter(
        (r) => !r.sameAs && (!r.dependsOn || states.get(r.dependsOn)?.status === 'finished') && stackKeyOf(r) === key,
      );
    /** The next run whose dependency is met; failed dependencies fail their dependants at once. */
    const next = (): PlannedRun | null => {
      for (let i = 0; i < waiting.length; i++) {
        const run = waiting[i]!;
        const dep = run.dependsOn ? states.get(run.dependsOn) : undefined;
        if (run.dependsOn && dep?.status === 'failed') {
          waiting.splice(i--, 1);
          finish(run, {
            id: run.id,
            status: 'failed',
            dir: plannedRunDir(run, runsDir),
            error: { message: `its dense run ${run.dependsOn} failed` },
          });
          continue;
        }
        if (!run.dependsOn || dep?.status === 'finished') {
          waiting.splice(i, 1);
          if (!run.sameAs) return run;
          finish(run, { id: run.id, status: 'reused', dir: states.get(run.sameAs)!.dir });
          i--;
        }
      }
      return null;
    };
    /** Starts one run, or several compatible ones as one stacked job. */
    const start = (group: PlannedRun[]) => {
      const p = (async () => {
        const byJob = new Map<string, PlannedRun>();
        let outcomes: JobOutcome[];
        try {
          const jobs = group.map((run) => {
            const job = jobOf(run);
            if (job.kind === 'arm' && run.experiment && !experimentsReady.has(run.experiment)) {
              ensureExperiment(plan, run.experiment, runsDir);
              experimentsReady.add(run.experiment);
            }
            byJob.set(job.id, run);
            emit({ type: 'start', run, job });
            log(
              run,
              `start ${run.label} (${run.id})${group.length > 1 ? ` stacked with ${group.length - 1} other run${group.length > 2 ? 's' : ''}` : ''}`,
            );
            return job;
          });
          const job: RunJob =
            jobs.length === 1
              ? jobs[0]!
              : {
                  kind: 'stack',
                  id: jobs.map((j) => j.id).join('+'),
                  label: jobs.map((j) => j.label).join('+'),
                  jobs: jobs as Exclude<RunJob, { kind: 'stack' }>[],
                };
          const [o] = await executor.run([job], {
            signal,
            onEvent: (member, event) => {
              const run = byJob.get(member.id) ?? group[0]!;
              const line = logLine(event);
              if (line) log(run, line);
              emit({ type: 'train', run, event });
            },
          });
          outcomes =
            jobs.length === 1
              ? [o!]
              : jobs.map(
                  (j, i) =>
                    o!.members?.[i] ?? {
                      id: j.id,
                      status: o!.status,
                      dir: plannedRunDir(group[i]!, runsDir),
                      ...(o!.error ? { error: o!.error } : {}),
                    },
                );
        } catch (e) {
          const error = { message: String((e as Error).message ?? e).split('\n')[0]! };
          outcomes = group.map((run) => ({
            id: run.id,
            status: 'failed' as const,
            dir: plannedRunDir(run, runsDir),
            error,
          }));
        }
        group.forEach((run, i) => finish(run, outcomes[i]!));
      })();
      running.add(p);
      void p.finally(() => running.delete(p));
    };
    // Dispatch loop: start what is ready up to the limit, then wait for any job to end.
    const stack = Math.max(1, Math.floor(options.stack ?? 1));
    while (!signal?.aborted) {
      while (running.size < limit && !signal?.aborted) {
        const run = next();
        if (!run) break;
        const key = stack > 1 ? stackKeyOf(run) : null;
        const group = [run];
        if (key) {
          // Fill the free slots evenly: 9 ready runs and 2 free slots make stacks of 5 and 4.
          const ready = readyWith(key);
          const free = Math.max(1, limit - running.size);
          const size = Math.min(stack, Math.ceil((ready.length + 1) / free));
          for (const other of ready.slice(0, size - 1)) {
            waiting.splice(waiting.indexOf(other), 1);
            group.push(other);
          }
        }
        start(group);
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
    await Promise.all(running);
    if (signal?.aborted)
      for (const run of waiting) if (!states.has(run.id)) log(run, 'not started (sweep interrupted)');
    writeResults();
    const counts = { finished: 0, failed: 0, interrupted: 0, pending: 0 };
    for (const r of rows) counts[r.status]++;
    const status = counts.interrupted + counts.pending > 0 ? 'interrupted' : counts.failed > 0 ? 'failed' : 'finished';
    return { status, rows, counts, files };
  } finally {
    lock.release();
  }
}
