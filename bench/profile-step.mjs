#!/usr/bin/env node
// Where a training step's time goes: runs Trainer.step under tf.profile and groups the kernels
// (matrix products, the optimiser's element-wise update, the loss, transposes, the rest), then
// compares the kernels' sum with the wall time of unprofiled steps; the difference is dispatch,
// autodiff tape and JS overhead. Usage: node bench/profile-step.mjs [mlp|transformer|mnist-mlp]
// [--backend wasm] [--steps 50] [--top 12] [--stack K]. With --stack K, a StackedTrainer of K runs
// (seeds 0..K−1) is profiled instead, and times are also given per model-step. Build first
// (npm run build).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { PAPER_ADAMW, StackedTrainer, Trainer, getTask, resolveTaskConfig } from '@grokking-tickets/training';

const args = process.argv.slice(2);
const value = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const kind = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a) && a !== value('--backend')) ?? 'mlp';
const steps = Number(value('--steps', '50'));
const backend = await initBackend(value('--backend', 'auto'));
const task = resolveTaskConfig({ name: kind === 'mnist-mlp' ? 'mnist' : 'modular' });
const data = getTask(task.name).load(task, 0);
const model = createModel(kind);
const stack = Number(value('--stack', '0'));
const trainer =
  stack > 0
    ? new StackedTrainer({
        model,
        members: Array.from({ length: stack }, (_, seed) => {
          const d = getTask(task.name).load(task, seed);
          return { weights: initialWeights(model, seed), optimizer: PAPER_ADAMW, train: d.train, test: d.test };
        }),
      })
    : new Trainer({
        model,
        weights: initialWeights(model, 0),
        optimizer: PAPER_ADAMW,
        train: data.train,
        test: data.test,
      });
for (let i = 0; i < (stack > 0 ? 5 : 20); i++) trainer.step();

// Optimiser kernels are the element-wise ones on parameter-shaped inputs.
const paramShapes = new Set(model.params.map((p) => JSON.stringify(stack > 0 ? [stack, ...p.shape] : p.shape)));
const group = (k) => {
  if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul' || k.name === 'GrokBatchedMatMul') return 'matrix products';
  if (k.name.startsWith('GrokAdamW')) return 'element-wise on parameter shapes (AdamW, masks)';
  if (k.name === 'Transpose' || k.name === 'GrokTransposeInner') return 'transposes';
  if (k.name.startsWith('GrokSparseLookup')) return 'sparse lookups and their adjoints (fused)';
  if (['Softmax', 'Max', 'Exp', 'Log', 'Sum'].includes(k.name)) return 'loss (softmax, max, sums)';
  if (k.inputShapes.length > 0 && k.inputShapes.every((s) => s.length === 0 || paramShapes.has(JSON.stringify(s))))
    return 'element-wise on parameter shapes (AdamW, masks)';
  return 'other element-wise, reshapes, casts';
};
const groups = {};
const kernels = {};
let count = 0;
for (let i = 0; i < steps; i++) {
  const prof = await tf.profile(() => trainer.step());
  for (const k of prof.kernels) {
    // Custom-gradient wrappers appear as kernels that contain the real ones: skip them.
    if (!tf.getKernel(k.name, tf.getBackend())) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const g = group(k);
    groups[g] = (groups[g] ?? 0) + ms / steps;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    kernels[key] = (kernels[key] ?? 0) + ms / steps;
    count++;
  }
}
const t0 = performance.now();
const timed = Math.max(10, Math.round(200 / Math.max(1, stack)));
for (let i = 0; i < timed; i++) trainer.step();
if (stack > 0) trainer.getWeights(0);
else trainer.getWeights();
const wall = (performance.now() - t0) / timed;
const kernelSum = Object.values(groups).reduce((a, b) => a + b, 0);
const f = (x) => x.toFixed(3).padStart(7);
console.log(
  `${kind}${stack > 0 ? ` stack of ${stack}` : ''} on ${backend.name}: ${f(wall)} ms per unprofiled step${stack > 0 ? ` (${f(wall / stack)} ms per model-step)` : ''}, ${(count / steps).toFixed(0)} kernels per step`,
);
for (const [g, ms] of Object.entries(groups).sort((a, b) => b[1] - a[1])) console.log(`${f(ms)} ms  ${g}`);
console.log(`${f(Math.max(0, wall - kernelSum))} ms  dispatch, tape and JS overhead (wall − kernel sum)`);
console.log('\ntop kernels (ms per step, name, input shapes):');
for (const [k, ms] of Object.entries(kernels)
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(value('--top', '12'))))
  console.log(`${f(ms)}  ${k}`);
trainer.dispose();
