import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NamedArrays } from '@grokking-tickets/models';
import type { TrainConfig } from './config.js';
import type { RunMode, RunResult, TrainEvent } from './run.js';

/** What a worker needs to train one arm. */
export interface ArmJob {
  config: TrainConfig;
  dir: string;
  mode: RunMode;
  initialWeights: NamedArrays;
  masks?: NamedArrays;
  provenance: Record<string, unknown>;
}

// The compiled worker beside this module; from the TypeScript sources (tests) fall back to dist/.
function workerScript(): URL {
  const here = new URL('./armWorker.js', import.meta.url);
  return fs.existsSync(fileURLToPath(here)) ? here : new URL('../dist/armWorker.js', import.meta.url);
}

/**
 * Trains one arm in a worker thread (its own tfjs engine and WASM instance), so independent arms
 * use both cores. Progress events are forwarded; aborting the signal asks the worker to stop at its
 * next check, save its resume state and return 'interrupted'.
 */
export function runArmInWorker(job: ArmJob, signal: AbortSignal | undefined, onEvent: (e: TrainEvent) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript(), { workerData: job });
    const abort = () => worker.postMessage({ type: 'abort' });
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted) abort();
    worker.on('message', (msg: { type: 'event'; event: TrainEvent } | { type: 'done'; result: RunResult } | { type: 'error'; message: string }) => {
      if (msg.type === 'event') onEvent(msg.event);
      else if (msg.type === 'done') resolve(msg.result);
      else reject(new Error(msg.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      signal?.removeEventListener('abort', abort);
      if (code !== 0) reject(new Error(`arm worker for ${job.dir} exited with code ${code}`));
    });
  });
}
