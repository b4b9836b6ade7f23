import { fork } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { jobDir, planArm, runArm, type JobOutcome, type RunJob, type StackJob } from '@grokking-tickets/experiments';
import { loadedPlugins, type PluginSpec } from '@grokking-tickets/registry';
import { RunStore } from '@grokking-tickets/run-store';
import { runStack, runTraining, type RunMode, type RunOptions, type TrainEvent } from '@grokking-tickets/training';

/** What an executor reports while it runs. */
export interface ExecutorRunOptions {
  /** Abort: running jobs save their state and end as `interrupted`; queued ones are not started. */
  signal?: AbortSignal;
  /** Training events; for a stack job, `job` is the member run the event belongs to. */
  onEvent?: (job: RunJob, event: TrainEvent) => void;
  /** Called as each job ends (before `run` resolves). */
  onOutcome?: (job: RunJob, outcome: JobOutcome) => void;
  /** Called as each job starts. */
  onStart?: (job: RunJob) => void;
}

/** Runs jobs: in this thread, in worker threads, in child processes, or through a queue. */
export interface Executor {
  readonly name: string;
  /**
   * False when the executor cannot take stack jobs (a queue, whose job ids are run ids): the
   * scheduler then hands it single runs.
   */
  readonly stacks?: boolean;
  /** Runs every job (up to the executor's concurrency at once); resolves with one outcome per job, in order. */
  run(jobs: readonly RunJob[], options?: ExecutorRunOptions): Promise<JobOutcome[]>;
}

function failure(job: RunJob, e: unknown): JobOutcome {
  const err = e as { message?: string; code?: unknown };
  return {
    id: job.id,
    status: 'failed',
    dir: jobDir(job),
    error: {
      message: String(err?.message ?? e).split('\n')[0]!,
      ...(typeof err?.code === 'string' ? { code: err.code } : {}),
    },
  };
}

/**
 * Runs one job in this thread and never throws: a failure becomes a `failed` outcome with its
 * one-line message. A finished run is skipped (`already-finished`), an interrupted one resumed.
 */
export async function executeJob(
  job: RunJob,
  options: { signal?: AbortSignal; onEvent?: (event: TrainEvent, member?: number) => void } = {},
): Promise<JobOutcome> {
  try {
    if (job.kind === 'stack') return await executeStack(job, options);
    if (job.kind === 'train') {
      const mode: RunMode = new RunStore(job.dir).exists() ? 'resume' : 'new';
      const r = await runTraining({
        config: job.config,
        dir: job.dir,
        mode,
        provenance: job.provenance,
        command: job.command ?? `grokking-tickets (${job.label})`,
        signal: options.signal,
        onEvent: options.onEvent,
      });
      return { id: job.id, status: r.status, dir: job.dir, summary: r.summary };
    }
    const outcome = await runArm({
      experimentDir: job.experimentDir,
      arm: job.arm,
      prunerSpec: job.prunerSpec,
      cwd: job.cwd,
      signal: options.signal,
      onEvent: options.onEvent,
    });
    return { ...outcome, id: job.id };
  } catch (e) {
    return failure(job, e);
  }
}

/** The worst status first: a stack's own status is the first of these that a member has. */
const STATUS_ORDER: JobOutcome['status'][] = ['failed', 'interrupted', 'finished', 'already-finished', 'reused'];

/**
 * Runs a stack job in this thread: plans each member (a train job's folder mode, an arm's initial
 * weights and masks; a reused dense arm needs no training), then trains the rest with `runStack`.
 * A member that fails (bad folder, divergence) fails alone; the others go on.
 */
async function executeStack(
  job: StackJob,
  options: { signal?: AbortSignal; onEvent?: (event: TrainEvent, member?: number) => void },
): Promise<JobOutcome> {
  const members: JobOutcome[] = new Array(job.jobs.length);
  const runs: Array<{ index: number; options: RunOptions }> = [];
  for (const [index, m] of job.jobs.entries()) {
    const onEvent = (event: TrainEvent) => options.onEvent?.(event, index);
    try {
      if (m.kind === 'train') {
        const mode: RunMode = new RunStore(m.dir).exists() ? 'resume' : 'new';
        runs.push({
          index,
          options: {
            config: m.config,
            dir: m.dir,
            mode,
            provenance: m.provenance,
            command: m.command ?? `grokking-tickets (${m.label})`,
            onEvent,
          },
        });
      } else {
        const plan = await planArm({
          experimentDir: m.experimentDir,
          arm: m.arm,
          prunerSpec: m.prunerSpec,
          cwd: m.cwd,
          onEvent,
        });
        if ('outcome' in plan) members[index] = { ...plan.outcome, id: m.id };
        else runs.push({ index, options: plan.run });
      }
    } catch (e) {
      members[index] = failure(m, e);
    }
  }
  const outcomes = await runStack(
    runs.map((r) => r.options),
    { signal: options.signal },
  );
  outcomes.forEach((o, i) => {
    const index = runs[i]!.index;
    const m = job.jobs[index]!;
    members[index] = o.error
      ? failure(m, o.error)
      : { id: m.id, status: o.result!.status, dir: o.dir, summary: o.result!.summary };
  });
  const status = STATUS_ORDER.find((st) => members.some((o) => o.status === st)) ?? 'finished';
  const firstError = members.find((o) => o.error)?.error;
  return { id: job.id, status, dir: jobDir(job), members, ...(firstError ? { error: firstError } : {}) };
}

/** A pool that runs at most `concurrency` jobs at once with `start(job)`, in order, stopping new starts on abort. */
async function pool(
  jobs: readonly RunJob[],
  concurrency: number,
  options: ExecutorRunOptions,
  start: (job: RunJob) => Promise<JobOutcome>,
): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i]!;
      if (options.signal?.aborted) {
        outcomes[i] = { id: job.id, status: 'interrupted', dir: jobDir(job) };
        continue;
      }
      options.onStart?.(job);
      const outcome = await start(job);
      outcomes[i] = outcome;
      options.onOutcome?.(job, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
  return outcomes;
}

/** Runs jobs one after another in this thread. */
export function createInProcessExecutor(): Executor {
  return {
    name: 'in-process',
    run: (jobs, options = {}) =>
      pool(jobs, 1, options, (job) =>
        executeJob(job, {
          signal: options.signal,
          onEvent: (e, member) => options.onEvent?.(memberOf(job, member), e),
        }),
      ),
  };
}

// The compiled entry beside this module; from the TypeScript sources (tests) fall back to dist/.
function entry(name: string): URL {
  const here = new URL(`./${name}.js`, import.meta.url);
  return fs.existsSync(fileURLToPath(here)) ? here : new URL(`../dist/${name}.js`, import.meta.url);
}

/**
 * The plug-ins this process loaded (named by the user in this invocation), for the worker threads
 * and child processes it starts: they load the same modules before running a job.
 */
export function pluginSpecs(): PluginSpec[] {
  return loadedPlugins().map(({ spec, cwd }) => ({ spec, cwd }));
}

type FromRunner = { type: 'event'; event: TrainEvent; member?: number } | { type: 'done'; outcome: JobOutcome };

/** The job an event belongs to: a stack's member, or the job itself. */
function memberOf(job: RunJob, member: number | undefined): RunJob {
  return job.kind === 'stack' && member !== undefined ? (job.jobs[member] ?? job) : job;
}

/**
 * Runs up to `concurrency` jobs at once, each in its own worker thread (its own tfjs engine and
 * WASM instance), so independent runs use several cores. Aborting asks each worker to stop at its
 * next check, save its resume state and end as `interrupted`.
 * @example
 * const executor = createWorkerThreadExecutor({ concurrency: 2 });
 * const outcomes = await executor.run([
 *   { kind: 'train', id: 's0', label: 'seed 0', dir: 'runs/s0', config: resolveTrainConfig({ seed: 0 }) },
 *   { kind: 'train', id: 's1', label: 'seed 1', dir: 'runs/s1', config: resolveTrainConfig({ seed: 1 }) },
 * ]);
 * outcomes.map((o) => o.status); // [ 'finished', 'finished' ]
 */
export function createWorkerThreadExecutor(opts: { concurrency: number }): Executor {
  return {
    name: 'worker-threads',
    run: (jobs, options = {}) =>
      pool(
        jobs,
        opts.concurrency,
        options,
        (job) =>
          new Promise<JobOutcome>((resolve) => {
            const worker = new Worker(entry('jobRunner'), { workerData: { job, plugins: pluginSpecs() } });
            let outcome: JobOutcome | undefined;
            const abort = () => worker.postMessage({ type: 'abort' });
            options.signal?.addEventListener('abort', abort, { once: true });
            worker.on('message', (msg: FromRunner) => {
              if (msg.type === 'event') options.onEvent?.(memberOf(job, msg.member), msg.event);
              else outcome = msg.outcome;
            });
            worker.on('error', (e) => (outcome ??= failure(job, e)));
            worker.on('exit', (code) => {
              options.signal?.removeEventListener('abort', abort);
              resolve(
                outcome ?? failure(job, new Error(`worker for ${job.label} exited with code ${code} before reporting`)),
              );
            });
          }),
      ),
  };
}

/**
 * Runs up to `concurrency` jobs at once, each in a child process (`node jobRunner.js`): a crash or
 * out-of-memory in one run cannot take the others down. Aborting sends the child SIGINT, on which it
 * saves its resume state and ends as `interrupted`.
 */
export function createChildProcessExecutor(opts: { concurrency: number; execArgv?: string[] }): Executor {
  return {
    name: 'child-processes',
    run: (jobs, options = {}) =>
      pool(
        jobs,
        opts.concurrency,
        options,
        (job) =>
          new Promise<JobOutcome>((resolve) => {
            const child = fork(fileURLToPath(entry('jobRunner')), [], {
              stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
              execArgv: opts.execArgv ?? [],
            });
            let outcome: JobOutcome | undefined;
            let stderr = '';
            child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
            const abort = () => child.kill('SIGINT');
            options.signal?.addEventListener('abort', abort, { once: true });
            child.on('message', (msg: FromRunner) => {
              if (msg.type === 'event') options.onEvent?.(memberOf(job, msg.member), msg.event);
              else outcome = msg.outcome;
            });
            child.on('error', (e) => (outcome ??= failure(job, e)));
            child.on('exit', (code, signal) => {
              options.signal?.removeEventListener('abort', abort);
              const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
              const last = stderr.trim().split('\n').pop();
              resolve(outcome ?? failure(job, new Error(`run ${job.label} ${why}${last ? ` (${last})` : ''}`)));
            });
            child.send({ type: 'job', job, plugins: pluginSpecs() });
          }),
      ),
  };
}
