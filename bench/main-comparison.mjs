#!/usr/bin/env node
// The paper's main comparison as `npm run bench --main-comparison` times it: for seeds 0, 1, 2 the
// dense run, then the arms ticket, dense, same-l1, same-l2, random (the dense arm is the dense run
// itself), every run 30 000 steps, all runs of a phase spread over --jobs worker processes and, with
// --stack K, grouped into stacks of at most K (the scheduler's runStacked, as a sweep would run them).
// Prints one JSON object with the wall time of each phase. Usage: node bench/main-comparison.mjs
// [--stack 8] [--jobs 2] [--steps 30000] [--out dir] (the folder is deleted unless --keep).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChildProcessExecutor, runStacked, runTicket } from '@grokking-tickets/scheduler';
import { resolveTrainConfig } from '@grokking-tickets/training';

const args = process.argv.slice(2);
const value = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const stack = Number(value('--stack', '8'));
const jobs = Number(value('--jobs', '2'));
const steps = Number(value('--steps', '30000'));
const seeds = value('--seeds', '0,1,2').split(',').map(Number);
const arms = ['ticket', 'dense', 'same-l1', 'same-l2', 'random'];
const root = value('--out', fs.mkdtempSync(path.join(os.tmpdir(), 'gt-main-')));
const executor = createChildProcessExecutor({ concurrency: jobs });
const failed = (outcomes) => outcomes.filter((o) => o.status === 'failed').map((o) => `${o.id}: ${o.error?.message}`);

const t0 = performance.now();
// 1. The dense runs.
const denseJobs = seeds.map((seed) => ({
  kind: 'train',
  id: `dense-${seed}`,
  label: `dense ${seed}`,
  dir: path.join(root, `dense-${seed}`),
  config: resolveTrainConfig({ steps, seed, backend: 'wasm' }),
}));
const dense = await runStacked(executor, denseJobs, stack, { workers: jobs });
if (failed(dense).length) throw new Error(failed(dense).join('; '));
const t1 = performance.now();
// 2. Each experiment's folder (ticket.json, mask) without training: a collecting executor.
const armJobs = [];
const collect = {
  name: 'collect',
  run: async (js) => (armJobs.push(...js), js.map((j) => ({ id: j.id, status: 'interrupted', dir: '' }))),
};
for (const seed of seeds) {
  await runTicket({
    dir: path.join(root, `ticket-${seed}`),
    config: { denseDir: path.join(root, `dense-${seed}`), arms },
    executor: collect,
    stack: 1,
  });
}
const unique = armJobs.map((j) => ({ ...j, id: `${j.experimentDir}#${j.arm}` }));
const t2 = performance.now();
// 3. All arms of all seeds through one pool.
const armOutcomes = await runStacked(executor, unique, stack, { workers: jobs });
if (failed(armOutcomes).length) throw new Error(failed(armOutcomes).join('; '));
const t3 = performance.now();
// 4. The summaries (every arm is finished: nothing trains).
const summaries = [];
for (const seed of seeds)
  summaries.push((await runTicket({ dir: path.join(root, `ticket-${seed}`), mode: 'resume', stack: 1 })).summary);
const t4 = performance.now();
const sec = (a, b) => Math.round((b - a) / 100) / 10;
console.log(
  JSON.stringify({
    stack,
    jobs,
    steps,
    seeds,
    trainedRuns: denseJobs.length + armOutcomes.filter((o) => o.status === 'finished').length,
    denseSec: sec(t0, t1),
    setupSec: sec(t1, t2),
    armsSec: sec(t2, t3),
    summarySec: sec(t3, t4),
    totalSec: sec(t0, t4),
    stepsToTest95: summaries.map((s) => Object.fromEntries(s.arms.map((a) => [a.arm, a.stepsToTest95]))),
  }),
);
if (!args.includes('--keep')) fs.rmSync(root, { recursive: true, force: true });
