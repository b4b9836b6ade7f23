#!/usr/bin/env node
// One process of `npm run bench`'s throughput section: times stacked training steps of K runs of one
// model (training's benchmarkStack) and prints one JSON object. Several of these run at once to
// measure throughput with several worker processes. Usage: node bench/stack-worker.mjs --model mlp
// --stack 8 [--steps 50] [--warmup 5] [--backend wasm]. Build first (npm run build).
import { BENCH_CASES, benchmarkStack } from '@grokking-tickets/training';

const args = process.argv.slice(2);
const value = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const model = value('--model', 'mlp');
const bench = BENCH_CASES.find((c) => c.model === model);
if (!bench) throw new Error(`unknown model ${model}`);
const result = await benchmarkStack(model, bench.task, {
  stack: Number(value('--stack', '1')),
  steps: Number(value('--steps', '50')),
  warmup: Number(value('--warmup', '5')),
  backend: value('--backend', 'wasm'),
});
console.log(JSON.stringify(result));
