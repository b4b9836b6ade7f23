// Worker-thread entry: trains one arm with runTraining and reports back to the parent.
import { parentPort, workerData } from 'node:worker_threads';
import type { ArmJob } from './armPool.js';
import { runTraining } from './run.js';

const job = workerData as ArmJob;
const controller = new AbortController();
parentPort!.on('message', (msg: { type: string }) => {
  if (msg.type === 'abort') controller.abort();
});
try {
  const result = await runTraining({ ...job, signal: controller.signal, onEvent: (event) => parentPort!.postMessage({ type: 'event', event }) });
  parentPort!.postMessage({ type: 'done', result });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
}
parentPort!.close();
