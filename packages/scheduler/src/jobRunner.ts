// Entry of a worker thread or child process that runs one job (see executors.ts) and reports back:
// events as they come, then the outcome. In a worker thread the job arrives as workerData and an
// abort as a message; in a child process the job arrives over IPC and an abort as SIGINT/SIGTERM.
// The plug-ins the parent loaded (the ones its user named) come with the job and are loaded first.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { jobDir, type JobOutcome, type RunJob } from '@grokking-tickets/experiments';
import { usePlugins, type PluginSpec } from '@grokking-tickets/registry';
import type { TrainEvent } from '@grokking-tickets/training';
import { executeJob } from './executors.js';

const controller = new AbortController();

async function run(
  job: RunJob,
  plugins: PluginSpec[],
  send: (msg: { type: 'event'; event: TrainEvent; member?: number } | { type: 'done'; outcome: JobOutcome }) => void,
): Promise<void> {
  try {
    await usePlugins(plugins);
  } catch (e) {
    const err = e as Error & { code?: string };
    send({
      type: 'done',
      outcome: {
        id: job.id,
        status: 'failed',
        dir: jobDir(job),
        error: { message: err.message, ...(err.code ? { code: err.code } : {}) },
      },
    });
    return;
  }
  const outcome = await executeJob(job, {
    signal: controller.signal,
    onEvent: (event, member) => send({ type: 'event', event, ...(member !== undefined ? { member } : {}) }),
  });
  send({ type: 'done', outcome });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (msg: { type: string }) => msg.type === 'abort' && controller.abort());
  const data = workerData as { job: RunJob; plugins?: PluginSpec[] };
  await run(data.job, data.plugins ?? [], (msg) => port.postMessage(msg));
  port.close();
} else if (process.send) {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => controller.abort());
  // The parent is gone (killed, or exited on a second Ctrl-C): save the state and stop, rather
  // than train on unseen while holding the run folder's lock.
  process.on('disconnect', () => controller.abort());
  process.once('message', (msg: { type: 'job'; job: RunJob; plugins?: PluginSpec[] }) => {
    void run(msg.job, msg.plugins ?? [], (m) => process.connected && process.send!(m)).then(
      () => process.connected && process.disconnect(),
    );
  });
}
