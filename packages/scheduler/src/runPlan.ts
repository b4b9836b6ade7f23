import {
  jobOf,
  plannedRunDir,
  retrainConfig,
  type JobOutcome,
  type PlannedExperiment,
  type PlannedRun,
  type RunJob,
  type SingleJob,
  type SweepPlan,
} from '@grokking-tickets/experiments';
import type { TrainConfig, TrainEvent } from '@grokking-tickets/training';
import type { Executor } from './executors.js';
import { bySteps, stackKeyOf, stackOf, stackSizes } from './stacking.js';

/** Options of {@link runPlan}. */
export interface RunPlanOptions {
  /** The graph of runs (a sweep's, or a ticket experiment's: a sweep of one point). */
  plan: SweepPlan;
  /** The folder the plan's run folders are relative to. */
  runsDir: string;
  executor: Executor;
  /** Jobs handed to the executor at once (a stack counts as one). */
  jobs: number;
  /**
   * Train up to this many compatible runs that are ready together as one stacked computation
   * (1: each alone; ignored for an executor that does not take stacks, such as a queue).
   */
  stack: number;
  /** Runs already done (finished on disk, or reused): not run again; their dependants may start. */
  done?: ReadonlyMap<string, JobOutcome>;
  signal?: AbortSignal;
  /** Called once per experiment, before its first arm job starts (its dense run has finished). */
  beforeArms?(experiment: PlannedExperiment): Promise<void> | void;
  /** Adjusts the job of a run before it is handed to the executor (e.g. the command it records). */
  jobFor?(run: PlannedRun, job: SingleJob): SingleJob;
  /** A run was handed to the executor, alone or in a stack of `stackSize` runs. */
  onStart?(run: PlannedRun, job: SingleJob, stackSize: number): void;
  /** A training event of a run. */
  onEvent?(run: PlannedRun, event: TrainEvent): void;
  /** A run ended (finished, reused as another run, failed, interrupted): before `runPlan` resolves. */
  onDone?(run: PlannedRun, outcome: JobOutcome): void;
}

/** The training config a run will use, for stacking: its own, or its experiment's retraining config. */
function configOf(plan: SweepPlan, run: PlannedRun): TrainConfig | null {
  if (run.config) return run.config;
  const exp = run.role === 'arm' ? plan.experiments.find((e) => e.identity === run.experiment) : undefined;
  try {
    return exp ? retrainConfig(exp.config) : null;
  } catch {
    return null;
  }
}

const ok = (o: JobOutcome | undefined) => o !== undefined && o.status !== 'failed' && o.status !== 'interrupted';

/**
 * Runs a plan: the one scheduler of `ticket` and `sweep`. A run starts when the run it depends on
 * (an arm's dense run) has finished; a run whose dependency failed fails at once with a one-line
 * reason; a dense arm that is its dense run (`sameAs`) ends as `reused` when that run finishes.
 * At most `jobs` jobs run at once; runs that are ready together and can train as one stacked
 * computation (the same stack key) are stacked by the one stacking policy ({@link stackSizes}: up
 * to `stack` runs, split to fill the free slots, runs of similar length together). Aborting stops
 * new starts and lets running jobs save their state (`interrupted`). Resolves with the outcome of
 * every run that ended, by run id (runs never started are absent).
 */
export async function runPlan(options: RunPlanOptions): Promise<Map<string, JobOutcome>> {
  const { plan, runsDir, executor, signal } = options;
  const outcomes = new Map<string, JobOutcome>(options.done ?? []);
  const waiting = plan.runs.filter((r) => !outcomes.has(r.id));
  const limit = Math.max(1, options.jobs);
  const stack = executor.stacks === false ? 1 : Math.max(1, Math.floor(options.stack));
  const prepared = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  const keys = new Map<string, string | null>();
  const keyOf = (run: PlannedRun): string | null => {
    if (!keys.has(run.id)) keys.set(run.id, stackKeyOf(configOf(plan, run)));
    return keys.get(run.id)!;
  };
  const stepsOf = (run: PlannedRun) => configOf(plan, run)?.steps ?? 0;
  const finish = (run: PlannedRun, outcome: JobOutcome) => {
    outcomes.set(run.id, outcome);
    options.onDone?.(run, outcome);
  };
  const ready = (run: PlannedRun) => !run.dependsOn || ok(outcomes.get(run.dependsOn));
  /**
   * Settles runs that need no job (a failed dependency, the dense run itself); returns the first
   * ready run to start, or null. A run whose dependency was interrupted waits (it is not started).
   */
  const next = (): PlannedRun | null => {
    for (let i = 0; i < waiting.length; i++) {
      const run = waiting[i]!;
      const dep = run.dependsOn ? outcomes.get(run.dependsOn) : undefined;
      if (dep?.status === 'failed') {
        waiting.splice(i--, 1);
        finish(run, {
          id: run.id,
          status: 'failed',
          dir: plannedRunDir(run, runsDir),
          error: { message: `its dense run ${run.dependsOn} failed` },
        });
        continue;
      }
      if (!ready(run)) continue;
      if (run.sameAs) {
        waiting.splice(i--, 1);
        const same = outcomes.get(run.sameAs)!;
        finish(run, {
          id: run.id,
          status: 'reused',
          dir: same.dir,
          ...(same.summary ? { summary: same.summary } : {}),
        });
        continue;
      }
      return run;
    }
    return null;
  };
  /** The runs to start with `first`: it alone, or a stack of ready runs of its key (the stacking policy). */
  const groupWith = (first: PlannedRun): PlannedRun[] => {
    const key = stack > 1 ? keyOf(first) : null;
    if (key === null) return [first];
    const candidates = waiting.filter((r) => !r.sameAs && ready(r) && keyOf(r) === key);
    const [size = 1] = stackSizes(candidates.length, stack, Math.max(1, limit - running.size));
    return bySteps(candidates.map((run) => ({ run, steps: stepsOf(run) })))
      .slice(0, size)
      .map((c) => c.run);
  };
  const prepare = (run: PlannedRun): Promise<void> => {
    const exp = run.role === 'arm' && run.experiment ? run.experiment : null;
    if (!exp || !options.beforeArms) return Promise.resolve();
    let p = prepared.get(exp);
    if (!p) {
      const experiment = plan.experiments.find((e) => e.identity === exp)!;
      prepared.set(exp, (p = Promise.resolve().then(() => options.beforeArms!(experiment))));
    }
    return p;
  };
  const start = (group: PlannedRun[]) => {
    const p = (async () => {
      let results: JobOutcome[];
      try {
        await Promise.all(group.map(prepare));
        const byJob = new Map<string, PlannedRun>();
        const jobs = group.map((run) => {
          const base = jobOf(plan, run, runsDir);
          const job = options.jobFor?.(run, base) ?? base;
          byJob.set(job.id, run);
          options.onStart?.(run, job, group.length);
          return job;
        });
        const job: RunJob = jobs.length === 1 ? jobs[0]! : stackOf(jobs);
        const [o] = await executor.run([job], {
          signal,
          onEvent: (member, event) => options.onEvent?.(byJob.get(member.id) ?? group[0]!, event),
        });
        results =
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
        const err = e as Error & { code?: unknown };
        const error = {
          message: String(err?.message ?? e).split('\n')[0]!,
          ...(typeof err?.code === 'string' ? { code: err.code } : {}),
        };
        results = group.map((run) => ({
          id: run.id,
          status: 'failed' as const,
          dir: plannedRunDir(run, runsDir),
          error,
        }));
      }
      group.forEach((run, i) => finish(run, results[i]!));
    })();
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  // Dispatch: start what is ready up to the limit, then wait for any job to end.
  while (!signal?.aborted) {
    while (running.size < limit && !signal?.aborted) {
      const first = next();
      if (!first) break;
      const group = groupWith(first);
      for (const run of group) waiting.splice(waiting.indexOf(run), 1);
      start(group);
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  await Promise.all(running);
  return outcomes;
}
