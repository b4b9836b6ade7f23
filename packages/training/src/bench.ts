import { initBackend, type BackendName } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { PAPER_ADAMW } from './adamw.js';
import { getTask, resolveTaskConfig } from './tasks.js';
import { StackedTrainer } from './stackedTrainer.js';
import { Trainer } from './trainer.js';

/** Timing of one model's training step on one backend. */
export interface StepBenchmark {
  model: string;
  task: string;
  backend: string;
  trainSize: number;
  /** Per-step wall times over `steps` timed steps, after `warmup` untimed ones. */
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  meanMs: number;
  steps: number;
  warmup: number;
}

/** The three paper models with the tasks they train on. */
export const BENCH_CASES = [
  { model: 'mlp', task: { name: 'modular' } },
  { model: 'transformer', task: { name: 'modular' } },
  { model: 'mnist-mlp', task: { name: 'mnist' } },
] as const;

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/**
 * Times full-batch AdamW steps of one model (the same Trainer.step the runs use). Each step is
 * timed on its own and synchronised by reading one weight value back, so queued work is counted.
 */
export async function benchmarkStep(
  modelKind: string,
  taskConfig: { name: string },
  opts: { backend?: BackendName | 'auto'; steps?: number; warmup?: number; seed?: number } = {},
): Promise<StepBenchmark> {
  const backend = await initBackend(opts.backend ?? 'auto');
  const task = resolveTaskConfig(taskConfig);
  const data = getTask(task.name).load(task, opts.seed ?? 0);
  const model = createModel(modelKind);
  const trainer = new Trainer({
    model,
    weights: initialWeights(model, opts.seed ?? 0),
    optimizer: PAPER_ADAMW,
    train: data.train,
    test: data.test,
  });
  const steps = opts.steps ?? 200;
  const warmup = opts.warmup ?? 20;
  const sync = () => trainer.optimizer.t;
  try {
    for (let i = 0; i < warmup; i++) trainer.step();
    trainer.evaluate();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainer.step();
      sync();
      times.push(performance.now() - t0);
    }
    // One readback at the end makes sure nothing is still queued (WASM and cpu run synchronously).
    trainer.evaluate();
    const sorted = [...times].sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      model: modelKind,
      task: task.name,
      backend: backend.name,
      trainSize: data.train.labels.length,
      medianMs: r(quantile(sorted, 0.5)),
      p10Ms: r(quantile(sorted, 0.1)),
      p90Ms: r(quantile(sorted, 0.9)),
      meanMs: r(times.reduce((a, b) => a + b, 0) / times.length),
      steps,
      warmup,
    };
  } finally {
    trainer.dispose();
  }
}

/** Timing of stacked training steps: K runs of one model as one computation. */
export interface StackBenchmark {
  model: string;
  task: string;
  backend: string;
  /** Runs in the stack (K). */
  stack: number;
  /** Per stacked step (all K runs), over `steps` timed steps after `warmup` untimed ones. */
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** K · 1000 / medianMs: model-steps per second of this process. */
  modelStepsPerSec: number;
  /** CPU time (user + system) of this process per stacked step: less sensitive to a busy machine than wall time. */
  cpuMsPerStep: number;
  /** Resident memory of the process after the timed steps, in MB. */
  rssMB: number;
  steps: number;
  warmup: number;
}

/**
 * Times full-batch AdamW steps of K runs of one model stacked ({@link StackedTrainer}); the runs
 * have seeds 0..K−1 (their own initial weights and data splits), as a stack in an experiment has.
 */
export async function benchmarkStack(
  modelKind: string,
  taskConfig: { name: string },
  opts: { stack: number; backend?: BackendName | 'auto'; steps?: number; warmup?: number },
): Promise<StackBenchmark> {
  const backend = await initBackend(opts.backend ?? 'auto');
  const task = resolveTaskConfig(taskConfig);
  const model = createModel(modelKind);
  const k = opts.stack;
  const members = Array.from({ length: k }, (_, seed) => {
    const data = getTask(task.name).load(task, seed);
    return { weights: initialWeights(model, seed), optimizer: PAPER_ADAMW, train: data.train, test: data.test };
  });
  const trainer = new StackedTrainer({ model, members });
  const steps = opts.steps ?? 50;
  const warmup = opts.warmup ?? 5;
  try {
    for (let i = 0; i < warmup; i++) trainer.step();
    trainer.evaluate();
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      trainer.step();
      times.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    trainer.evaluate();
    const sorted = [...times].sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 1000) / 1000;
    const median = quantile(sorted, 0.5);
    return {
      model: modelKind,
      task: task.name,
      backend: backend.name,
      stack: k,
      medianMs: r(median),
      p10Ms: r(quantile(sorted, 0.1)),
      p90Ms: r(quantile(sorted, 0.9)),
      modelStepsPerSec: Math.round((k * 1000) / median),
      cpuMsPerStep: r((cpu.user + cpu.system) / 1000 / steps),
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
      steps,
      warmup,
    };
  } finally {
    trainer.dispose();
  }
}
