// BullMQ's sandboxed processor (runs in a child process of `grokking-tickets worker`, see queue.ts):
// one job of the queue. Its folders are relative to the worker's shared runs folder, and plug-ins
// (models, tasks, arms, pruners) are the ones the worker's own command line named, which the worker
// passes here; never anything named by the job data.
import path from 'node:path';
import { UnrecoverableError, WaitingError, type SandboxedJob } from 'bullmq';
import { jobDir, readTicketRecord, type JobOutcome } from '@grokking-tickets/experiments';
import { usePlugins, type PluginSpec } from '@grokking-tickets/registry';
import { RunStore } from '@grokking-tickets/run-store';
import type { RunSummary, TrainEvent } from '@grokking-tickets/training';
import { executeJob } from './executors.js';
import { relocateJob, type QueuedJob, type QueuedOutcome } from './queue.js';

const root = process.env.GROKKING_TICKETS_WORKER_ROOT ?? process.cwd();
const plugins = JSON.parse(process.env.GROKKING_TICKETS_WORKER_PLUGINS ?? '[]') as PluginSpec[];
// Errors that come back the same on every try: failing the job at once saves the retries.
const DETERMINISTIC = new Set([
  'GT_CONFIG',
  'GT_EXPERIMENT',
  'GT_NONFINITE',
  'GT_CORRUPT',
  'GT_UNKNOWN_NAME',
  'GT_PLUGIN',
]);

// If the worker dies (SIGKILL), this child loses its IPC channel: stop the run (it saves its state
// and releases its folder lock) and exit, so the job's retry on another worker does not meet a live lock.
const orphaned = new AbortController();
process.on('disconnect', () => {
  orphaned.abort();
  setTimeout(() => process.exit(1), 10_000).unref();
});

export default async function processJob(
  job: SandboxedJob<QueuedJob>,
  token?: string,
  signal?: AbortSignal,
): Promise<QueuedOutcome> {
  const local = relocateJob(job.data.job, (p) => {
    const abs = path.resolve(root, p);
    const rel = path.relative(root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel))
      throw new UnrecoverableError(`job folder ${p} is outside the worker's runs folder`);
    return abs;
  });
  const toRel = (p: string) => path.relative(root, p).split(path.sep).join('/') || '.';
  const dir = jobDir(local);
  const store = new RunStore(dir);
  if (store.isFinished())
    return {
      id: local.id,
      status: 'already-finished',
      dir: toRel(dir),
      summary: store.readJson<RunSummary>('summary.json'),
    };
  try {
    await usePlugins(plugins);
  } catch (e) {
    throw new UnrecoverableError((e as Error).message);
  }
  if (local.kind === 'arm') {
    try {
      readTicketRecord(local.experimentDir);
    } catch (e) {
      throw new UnrecoverableError(`${(e as Error).message} (is ${root} the shared runs folder the sweep writes?)`);
    }
  }
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal?.addEventListener('abort', abort, { once: true });
  orphaned.signal.addEventListener('abort', abort, { once: true });
  let last = 0;
  const onEvent = (event: TrainEvent) => {
    const now = Date.now();
    // Progress goes through Redis: every event except evaluations, and evaluations at most twice a second.
    if (event.type === 'eval' && now - last < 500 && event.row.step !== event.steps) return;
    last = now;
    void job.updateProgress(event.type === 'start' ? { ...event, dir: toRel(event.dir) } : event).catch(() => {});
  };
  let outcome: JobOutcome;
  try {
    outcome = await executeJob(local, { signal: controller.signal, onEvent });
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  if (outcome.status === 'interrupted') {
    if (orphaned.signal.aborted) throw new Error('worker died'); // nobody listens any more
    // Shutting down: the state is saved; hand the job back without using up an attempt.
    await job.moveToWait(token);
    throw new WaitingError();
  }
  if (outcome.status === 'failed') {
    const message = outcome.error?.message ?? 'failed';
    throw DETERMINISTIC.has(outcome.error?.code ?? '') ? new UnrecoverableError(message) : new Error(message);
  }
  return { ...outcome, dir: toRel(outcome.dir) };
}
