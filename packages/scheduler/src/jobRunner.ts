// Entry of a worker thread or child process that runs one job (see executors.ts) and reports back:
// events as they come, then the outcome. In a worker thread the job arrives as workerData and an
// abort as a message; in a child process the job arrives over IPC and an abort as SIGINT/SIGTERM.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { executeJob, type JobOutcome, type RunJob } from './executors.js';
import type { TrainEvent } from '@grokking-tickets/training';

const controller = new AbortController();

async function run(
  job: RunJob,
  send: (msg: { type: 'event'; event: TrainEvent; member?: number } | { type: 'done'; outcome: JobOutcome }) => void,
): Promise<void> {
  const outcome = await executeJob(job, {
    signal: controller.signal,
    onEvent: (event, member) => send({ type: 'event', event, ...(member !== undefined ? { member } : {}) }),
  });
  send({ type: 'done', outcome });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (msg: { type: string }) => msg.type === 'abort' && controller.abort());
  await run(workerData as RunJob, (msg) => port.postMessage(msg));
  port.close();
} else if (process.send) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => controller.abort());
  // The parent is gone (killed, or exited on a second Ctrl-C): save the state and stop, rather
  // than train on unseen while holding the run folder's lock.
  process.on('disconnect', () => controller.abort());
  process.once('message', (msg: { type: 'job'; job: RunJob }) => {
    void run(msg.job, (m) => process.connected && process.send!(m)).then(
      () => process.connected && process.disconnect(),
    );
  });
}
