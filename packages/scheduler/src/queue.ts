import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { jobDir, type JobOutcome, type RunJob } from '@grokking-tickets/experiments';
import { isBuiltinPruner } from '@grokking-tickets/pruners';
import { usePlugins } from '@grokking-tickets/registry';
import { writeFileAtomic } from '@grokking-tickets/run-store';
import type { TrainEvent } from '@grokking-tickets/training';
import { pluginSpecs, type Executor, type ExecutorRunOptions } from './executors.js';

/** The queue is unusable: Redis cannot be reached, or a worker cannot write its output folder. Exit code 1. */
export class QueueError extends Error {
  override name = 'QueueError';
  readonly code: string = 'GT_QUEUE';
}

/** The default BullMQ queue name. */
export const DEFAULT_QUEUE = 'grokking-tickets';

/**
 * What travels through the queue: the job with its folders relative to the shared runs folder
 * (each machine mounts it where it likes), and never a module to load (workers take plug-ins only
 * from their own command line).
 */
export interface QueuedJob {
  job: RunJob;
}

/** What a worker returns through the queue for a finished job (its folder relative to the shared runs folder). */
export type QueuedOutcome = JobOutcome;

const errText = (e: unknown) => {
  const err = e as NodeJS.ErrnoException & { errors?: Error[] };
  return err?.code ?? err?.errors?.[0]?.message ?? err?.message ?? String(e);
};

/** Redis options for a URL that fail fast instead of retrying forever while connecting. */
function connectionOptions(url: string, extra: RedisOptions = {}): { url: string; options: RedisOptions } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new QueueError(`--queue must be a Redis URL such as redis://host:6379, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new QueueError(`--queue must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  return { url, options: { connectTimeout: 5000, ...extra } };
}

/**
 * Connects to Redis once and pings it, failing within `timeoutMs` with one line that names the URL
 * and what went wrong (refused, timed out, bad password) instead of BullMQ's endless reconnects.
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const { options } = connectionOptions(url);
  const client = new Redis(url, {
    ...options,
    connectTimeout: timeoutMs,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown = null;
  client.on('error', (e) => (lastError = e)); // the socket's own error (ECONNREFUSED, ...) beats "Connection is closed"
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      new Promise((_, reject) =>
        setTimeout(
          () => reject(Object.assign(new Error('timed out'), { code: `no answer within ${timeoutMs / 1000} s` })),
          timeoutMs,
        ).unref(),
      ),
    ]);
  } catch (e) {
    throw new QueueError(
      `cannot reach Redis at ${shown} (${errText(lastError ?? e)}); is redis-server running there and reachable from this machine?`,
      { cause: e },
    );
  } finally {
    client.disconnect();
  }
}

/** A client for BullMQ: `maxRetriesPerRequest: null` as BullMQ requires; reconnects after a Redis restart. */
function bullConnection(url: string): Redis {
  const { options } = connectionOptions(url);
  const client = new Redis(url, { ...options, maxRetriesPerRequest: null });
  client.on('error', () => {}); // reconnects by itself; a dead Redis was caught by checkRedis first
  return client;
}

/** Maps a job's folders onto paths relative to `root` (refusing folders outside it), or back. */
export function relocateJob(job: RunJob, map: (p: string) => string): RunJob {
  if (job.kind === 'train') return { ...job, dir: map(job.dir) };
  if (job.kind === 'arm') {
    const { prunerSpec: _p, cwd: _c, ...rest } = job;
    return { ...rest, experimentDir: map(job.experimentDir) };
  }
  return job;
}

function relativeTo(root: string): (p: string) => string {
  return (p: string) => {
    const rel = path.relative(root, path.resolve(p));
    if (rel.startsWith('..') || path.isAbsolute(rel))
      throw new QueueError(`${p} is outside the shared runs folder ${root}; queue jobs must write inside it`);
    return rel.split(path.sep).join('/');
  };
}

/** Options of {@link createQueueExecutor}. */
export interface QueueExecutorOptions {
  /** Redis URL, e.g. redis://host:6379. */
  url: string;
  /** BullMQ queue name (default {@link DEFAULT_QUEUE}). */
  queue?: string;
  /** The shared runs folder as this machine sees it; jobs carry paths relative to it. */
  root: string;
  /** Tries per job before it counts as failed (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubling per try (default 10 000). */
  backoffMs?: number;
}

/** A queue executor: an {@link Executor} that also has to be closed. */
export interface QueueExecutor extends Executor {
  close(): Promise<void>;
}

/**
 * An {@link Executor} that puts jobs on a BullMQ queue for `grokking-tickets worker` processes on
 * any machine. The job id is the run's id (its config hash), so adding a job that is already queued
 * or running does not add it twice. Jobs are retried with exponential backoff up to `attempts`
 * times; a worker that dies leaves its job to another (BullMQ's stalled-job check). Results are
 * written by workers into the shared runs folder; the queue carries the outcome (status and
 * summary). Aborting stops waiting (jobs stay queued; workers finish them; rerunning collects them).
 */
export function createQueueExecutor(options: QueueExecutorOptions): QueueExecutor {
  const name = options.queue ?? DEFAULT_QUEUE;
  const root = path.resolve(options.root);
  const toRel = relativeTo(root);
  const fromRel = (p: string) => path.resolve(root, p);
  let ready: Promise<{ queue: Queue; events: QueueEvents; clients: Redis[] }> | null = null;
  const waiters = new Map<string, { job: RunJob; opts: ExecutorRunOptions; resolve: (o: JobOutcome) => void }>();
  const settle = (id: string, outcome: (job: RunJob) => JobOutcome) => {
    const w = waiters.get(id);
    if (!w) return;
    waiters.delete(id);
    const o = outcome(w.job);
    w.opts.onOutcome?.(w.job, o);
    w.resolve(o);
  };
  const connect = () =>
    (ready ??= (async () => {
      await checkRedis(options.url);
      const clients = [bullConnection(options.url), bullConnection(options.url)];
      const queue = new Queue(name, { connection: clients[0]! });
      const events = new QueueEvents(name, { connection: clients[1]! });
      queue.on('error', () => {});
      events.on('error', () => {});
      events.on('completed', ({ jobId, returnvalue }) => {
        settle(jobId, (job) => {
          const o = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as QueuedOutcome;
          return { ...o, id: job.id, dir: fromRel(o.dir) };
        });
      });
      events.on('failed', ({ jobId, failedReason }) =>
        settle(jobId, (job) => ({
          id: job.id,
          status: 'failed',
          dir: jobDir(job),
          error: { message: String(failedReason).split('\n')[0]! },
        })),
      );
      events.on('progress', ({ jobId, data }) => {
        const w = waiters.get(jobId);
        if (w && data && typeof data === 'object' && 'type' in data) {
          const event = data as TrainEvent;
          w.opts.onEvent?.(w.job, event.type === 'start' ? { ...event, dir: fromRel(event.dir) } : event);
        }
      });
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      return { queue, events, clients };
    })());
  return {
    name: 'bullmq',
    // Job ids are run ids: a queue takes single runs.
    stacks: false,
    async run(jobs, opts = {}) {
      const { queue } = await connect();
      const outcomes = jobs.map(
        (job) =>
          new Promise<JobOutcome>((resolve) => {
            if (opts.signal?.aborted) return resolve({ id: job.id, status: 'interrupted', dir: jobDir(job) });
            waiters.set(job.id, { job, opts, resolve });
            opts.onStart?.(job);
          }),
      );
      const onAbort = () => {
        for (const job of jobs) settle(job.id, (j) => ({ id: j.id, status: 'interrupted', dir: jobDir(j) }));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for (const job of jobs) {
          if (!waiters.has(job.id)) continue;
          const data: QueuedJob = { job: relocateJob(job, toRel) };
          await queue.add(job.kind, data, {
            jobId: job.id,
            attempts: options.attempts ?? 3,
            backoff: { type: 'exponential', delay: options.backoffMs ?? 10_000 },
            // Finished jobs leave the queue: the run folder is the record, and a later sweep that finds
            // the run finished on disk skips it (a job id still queued or running is not added twice).
            removeOnComplete: true,
            removeOnFail: true,
          });
        }
        return await Promise.all(outcomes);
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    },
    async close() {
      if (!ready) return;
      const r = await ready.catch(() => null);
      if (!r) return;
      await Promise.allSettled([r.events.close(), r.queue.close()]);
      for (const c of r.clients) c.disconnect();
    },
  };
}

// The compiled entry beside this module; from the TypeScript sources (tests) fall back to dist/.
function entry(name: string): string {
  const here = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  return fs.existsSync(here) ? here : fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));
}

/** Checks that `dir` is a folder this process can write (by writing and removing a probe file). */
export function checkWritableFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    const probe = path.join(dir, `.write-probe-${os.hostname()}-${process.pid}`);
    writeFileAtomic(probe, 'probe\n');
    fs.rmSync(probe, { force: true });
  } catch (e) {
    throw new QueueError(
      `cannot write to the output folder ${dir} (${errText(e)}); a worker writes run folders there: give --out a writable folder (the shared runs folder)`,
      { cause: e },
    );
  }
}

/** What a worker reports. */
export type WorkerEvent =
  | { type: 'ready'; queue: string; url: string; root: string; concurrency: number }
  | { type: 'active'; id: string; label: string; attempt: number }
  | { type: 'progress'; id: string; label: string; event: TrainEvent }
  | { type: 'completed'; id: string; label: string; outcome: QueuedOutcome }
  | { type: 'failed'; id: string; label: string; error: string; willRetry: boolean }
  | { type: 'closing' };

/** Options of {@link runQueueWorker}. */
export interface QueueWorkerOptions {
  url: string;
  queue?: string;
  /** The shared runs folder as this machine sees it (jobs' folders are relative to it). */
  root: string;
  /** Plug-in pruners this worker may load (names from its own command line); anything else must be built in. */
  allowPruners?: readonly string[];
  /**
   * Plug-ins (module ids: models, tasks, arms, pruners) this worker loads, from its own command line;
   * its jobs' processes load the same. Folder that relative ids resolve from: `cwd`.
   */
  plugins?: readonly string[];
  cwd?: string;
  /** Jobs run at once, each in its own child process (default 1). */
  concurrency?: number;
  /**
   * How long a job stays claimed without a lock renewal; a killed worker's job is retried after this (default 30 000
   * ms).
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (default: the lock duration, at most 30 000 ms). */
  stalledIntervalMs?: number;
  /** Abort: running jobs save their state and go back to the queue, then the worker stops. */
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
}

/**
 * Takes jobs from the queue until `signal` aborts. Each job runs in a sandboxed child process
 * (BullMQ's), so this process's event loop stays free to renew the job locks while tfjs trains.
 * Runs are written into the shared runs folder (a run finished on disk is skipped; an interrupted
 * one resumes); a failure is retried by BullMQ up to the job's attempts (deterministic errors, such
 * as an invalid config, are not). On abort the running jobs save their resume state and go back
 * to the queue for another worker, without using up an attempt.
 */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<{ completed: number; failed: number }> {
  const root = path.resolve(options.root);
  checkWritableFolder(root);
  const cwd = options.cwd ?? process.cwd();
  await usePlugins(
    [...(options.allowPruners ?? []).filter((p) => !isBuiltinPruner(p)), ...(options.plugins ?? [])].map((spec) => ({
      spec,
      cwd,
    })),
  );
  await checkRedis(options.url);
  const name = options.queue ?? DEFAULT_QUEUE;
  const emit = options.onEvent ?? (() => {});
  const connection = bullConnection(options.url);
  const concurrency = options.concurrency ?? 1;
  const worker = new Worker(name, entry('queueProcessor'), {
    connection,
    concurrency,
    useWorkerThreads: false,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? Math.min(30_000, options.lockDurationMs ?? 30_000),
    maxStalledCount: 2,
    autorun: false,
    workerForkOptions: {
      env: {
        ...process.env,
        GROKKING_TICKETS_WORKER_ROOT: root,
        GROKKING_TICKETS_WORKER_PLUGINS: JSON.stringify(pluginSpecs()),
      },
    },
  });
  const labelOf = (job: Job | undefined) => (job?.data as QueuedJob | undefined)?.job?.label ?? String(job?.id);
  let completed = 0;
  let failed = 0;
  worker.on('error', () => {});
  worker.on('active', (job) =>
    emit({ type: 'active', id: String(job.id), label: labelOf(job), attempt: job.attemptsMade + 1 }),
  );
  worker.on('progress', (job, data) => {
    if (data && typeof data === 'object' && 'type' in data)
      emit({ type: 'progress', id: String(job.id), label: labelOf(job), event: data as TrainEvent });
  });
  worker.on('completed', (job, value) => {
    completed++;
    emit({ type: 'completed', id: String(job.id), label: labelOf(job), outcome: value as QueuedOutcome });
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const willRetry = err.name !== 'UnrecoverableError' && job.attemptsMade < (job.opts.attempts ?? 1);
    if (!willRetry) failed++;
    emit({
      type: 'failed',
      id: String(job.id),
      label: labelOf(job),
      error: String(err.message).split('\n')[0]!,
      willRetry,
    });
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      emit({ type: 'closing' });
      // Running jobs get the abort in their child: they save their state and go back to the queue.
      worker.cancelAllJobs('worker shutting down');
      void worker.close().finally(resolve);
    };
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  emit({ type: 'ready', queue: name, url: options.url, root, concurrency });
  void worker.run().catch(() => {});
  await stopped;
  connection.disconnect();
  return { completed, failed };
}
