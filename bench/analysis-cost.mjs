#!/usr/bin/env node
// The cost of the Fourier analysis a training run adds to a metrics row every `--analysis-every`
// steps, on the final weights of a finished dense MLP run:
//   node bench/analysis-cost.mjs <run folder> [blocks]      (build first: npm run build)
// Prints JSON: medians in ms of one analysis, one evaluation and one training step; the modelled
// share of a 30 000-step run (evaluation every 100, analysis every 1000); and the measured overhead
// on whole 1000-step blocks with and without an analysis, interleaved so that the load of a shared
// machine hits both alike.
import { initBackend } from '@grokking-tickets/backend';
import { createModel } from '@grokking-tickets/models';
import { RunStore } from '@grokking-tickets/run-store';
import { Trainer, allPairs, analyzeState, getTask, resolveTrainConfig } from '@grokking-tickets/training';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node bench/analysis-cost.mjs <finished MLP run folder>');
const store = new RunStore(dir);
const record = store.readRecord();
const config = resolveTrainConfig(record.config);
const backend = await initBackend(config.backend);
const model = createModel(
  config.model.kind,
  Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')),
);
const shapes = Object.fromEntries(model.params.map((p) => [p.name, p.shape]));
const { weights } = await store.loadWeights('final', { configHash: record.configHash, shapes });
const data = getTask('modular').load(config.task, config.seed);
const trainer = new Trainer({ model, weights, optimizer: config.optimizer, train: data.train, test: data.test });
const pairs = allPairs(Number(config.task.p));

const median = (fn, n) => {
  for (let i = 0; i < 3; i++) fn();
  const times = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  }
  return times.sort((a, b) => a - b)[n >> 1];
};
// What RunSession.analyze does: logits on all p² pairs, then analyzeState on the weights.
const analyzeMs = median(
  () => analyzeState(model, trainer.getWeights(), undefined, { logits: trainer.logits(pairs), train: data.train }),
  21,
);
const evaluateMs = median(() => trainer.evaluate(), 21);
const stepMs = median(() => trainer.step(), 101);
// Whole 1000-step blocks (evaluation every 100 steps, as a run does), alternately with and without
// an analysis at the end, so that load drifts on a shared machine hit both alike; and the steps
// after an analysis are timed too, in case it slowed what follows (memory growth, say).
const blocks = Number(process.argv[3] ?? 6);
const block = (withAnalysis) => {
  const s = performance.now();
  for (let i = 0; i < 1000; i++) {
    if (i % 100 === 0) trainer.evaluate();
    trainer.step();
  }
  if (withAnalysis)
    analyzeState(model, trainer.getWeights(), undefined, { logits: trainer.logits(pairs), train: data.train });
  return performance.now() - s;
};
const withA = [];
const without = [];
for (let b = 0; b < blocks; b++) {
  // ABBA order: each pair of blocks sees the same load trend on average.
  if (b % 2 === 0) {
    withA.push(block(true));
    without.push(block(false));
  } else {
    without.push(block(false));
    withA.push(block(true));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const steps = 30000;
const run = {
  steps: steps * stepMs,
  evaluations: (steps / 100 + 1) * evaluateMs,
  analyses: (steps / 1000 + 1) * analyzeMs,
};
console.log(
  JSON.stringify(
    {
      backend: backend.name,
      analyzeMs: +analyzeMs.toFixed(2),
      evaluateMs: +evaluateMs.toFixed(2),
      stepMs: +stepMs.toFixed(2),
      modelledRunSec: +((run.steps + run.evaluations) / 1000).toFixed(1),
      analysisSec: +(run.analyses / 1000).toFixed(2),
      analysisShareOfRun: +(run.analyses / (run.steps + run.evaluations)).toFixed(4),
      blocksOf1000Steps: blocks,
      blockMsWithAnalysis: +med(withA).toFixed(0),
      blockMsWithout: +med(without).toFixed(0),
      blockOverhead: +(med(withA) / med(without) - 1).toFixed(4),
    },
    null,
    2,
  ),
);
trainer.dispose();
