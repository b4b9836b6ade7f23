import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { RunStore } from '@grokking-tickets/run-store';
import { resolveTrainConfig } from '@grokking-tickets/training';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createChildProcessExecutor,
  createInProcessExecutor,
  createWorkerThreadExecutor,
  groupIntoStacks,
  runStacked,
  runTicket,
  stackSizes,
  type Executor,
  type RunJob,
} from '../src/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-xstack-'));
const BASE = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 24, dModel: 12 },
  optimizer: { lr: 0.01 },
  steps: 40,
  evalEvery: 10,
  checkpointEvery: 0,
  resumeEvery: 20,
  backend: 'wasm' as const,
};
const train = (root: string, i: number, extra: Record<string, unknown> = {}): RunJob => ({
  kind: 'train',
  id: `run-${i}`,
  label: `run ${i}`,
  dir: path.join(root, `run-${i}`),
  config: resolveTrainConfig({ ...BASE, seed: i, ...extra }),
});

beforeAll(async () => {
  await initBackend('wasm');
});

describe('the stacking policy', () => {
  it('at most K per stack, whole rounds of the free slots, sizes as equal as possible', () => {
    expect(stackSizes(7, 3)).toEqual([3, 2, 2]);
    expect(stackSizes(7, 16)).toEqual([7]);
    expect(stackSizes(7, 16, 2)).toEqual([4, 3]);
    expect(stackSizes(12, 4, 2)).toEqual([3, 3, 3, 3]);
    expect(stackSizes(6, 4, 1)).toEqual([3, 3]);
    expect(stackSizes(3, 8, 2)).toEqual([2, 1]);
    // more slots than runs (a queue's unbounded pool): one run per stack at most as many stacks as runs
    expect(stackSizes(3, 8, Number.POSITIVE_INFINITY)).toEqual([1, 1, 1]);
    expect(stackSizes(5, 1, 2)).toEqual([1, 1, 1, 1, 1]);
    expect(stackSizes(0, 4)).toEqual([]);
  });
});

describe('groupIntoStacks', () => {
  it('stacks compatible jobs, at most K per stack, spread over the workers, as equal as possible', async () => {
    const root = tmp();
    const jobs = Array.from({ length: 7 }, (_, i) => train(root, i, { steps: 10 * (7 - i) }));
    const other = train(root, 9, { model: { kind: 'mlp', dEmb: 8, dModel: 4 } });
    const grouped = await groupIntoStacks([...jobs, other], 3);
    // 7 compatible jobs in stacks of ≤ 3: 3 stacks of 3, 2, 2 (sorted by steps); the other model alone.
    const sizes = grouped.map((g) => (g.kind === 'stack' ? g.jobs.length : 1));
    expect(sizes).toEqual([3, 2, 2, 1]);
    expect(grouped[3]!.id).toBe('run-9');
    const first = grouped[0]!;
    expect(first.kind === 'stack' && first.jobs.map((j) => j.id)).toEqual(['run-6', 'run-5', 'run-4']);
    // One stack of 7 at K = 16, but two when there are two workers.
    expect((await groupIntoStacks(jobs, 16)).map((g) => (g.kind === 'stack' ? g.jobs.length : 1))).toEqual([7]);
    expect(
      (await groupIntoStacks(jobs, 16, { workers: 2 })).map((g) => (g.kind === 'stack' ? g.jobs.length : 1)),
    ).toEqual([4, 3]);
    expect(await groupIntoStacks(jobs, 1)).toEqual(jobs);
    // 7 runs, K = 2, 2 workers: 4 stacks (two full rounds of the pool).
    expect(
      (await groupIntoStacks(jobs, 2, { workers: 2 })).map((g) => (g.kind === 'stack' ? g.jobs.length : 1)),
    ).toEqual([2, 2, 2, 1]);
    // 12 runs, K = 4, 2 workers: 4 stacks of 3, not 3 stacks of 4.
    const twelve = Array.from({ length: 12 }, (_, i) => train(root, i));
    expect(
      (await groupIntoStacks(twelve, 4, { workers: 2 })).map((g) => (g.kind === 'stack' ? g.jobs.length : 1)),
    ).toEqual([3, 3, 3, 3]);
  });
});

describe.each<[string, () => Executor]>([
  ['in-process', () => createInProcessExecutor()],
  ['worker-threads', () => createWorkerThreadExecutor({ concurrency: 2 })],
  ['child-processes', () => createChildProcessExecutor({ concurrency: 2 })],
])('runStacked with the %s executor', (_name, make) => {
  it('gives every job the outcome and folder it gets unstacked; events name the member', async () => {
    const root = tmp();
    const jobs = [0, 1, 2].map((i) => train(path.join(root, 'stacked'), i, i === 2 ? { steps: 20 } : {}));
    const solo = [0, 1, 2].map((i) => train(path.join(root, 'solo'), i, i === 2 ? { steps: 20 } : {}));
    const seen = new Set<string>();
    const outcomes = await runStacked(make(), jobs, 4, {
      workers: 1,
      onEvent: (job, e) => e.type === 'finish' && seen.add(job.id),
    });
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ['run-0', 'finished'],
      ['run-1', 'finished'],
      ['run-2', 'finished'],
    ]);
    expect([...seen].sort()).toEqual(['run-0', 'run-1', 'run-2']);
    await createInProcessExecutor().run(solo);
    for (const i of [0, 1, 2]) {
      expect(new RunStore(path.join(root, 'stacked', `run-${i}`)).readMetrics()).toEqual(
        new RunStore(path.join(root, 'solo', `run-${i}`)).readMetrics(),
      );
    }
    expect(outcomes[2]!.summary!.steps).toBe(20);
  }, 120_000);
});

describe('ticket arms stacked', () => {
  it('stacked arms (default) give exactly the runs of unstacked arms (--stack 1)', async () => {
    const dense = { ...BASE, steps: 120, evalEvery: 20, seed: 2 };
    const config = { dense, arms: ['ticket', 'dense', 'random', 'same-l1'], retrain: { steps: 60, weightDecay: 0.5 } };
    const stacked = await runTicket({ dir: tmp(), config: { ...config } });
    const plain = await runTicket({ dir: tmp(), config: { ...config }, stack: 1 });
    const strip = (s: typeof stacked.summary) => s!.arms.map(({ dir: _d, ...rest }) => rest);
    expect(strip(stacked.summary)).toEqual(strip(plain.summary));
    for (const arm of config.arms) {
      const rows = (s: typeof stacked.summary) => new RunStore(s!.arms.find((a) => a.arm === arm)!.dir).readMetrics();
      expect(rows(stacked.summary)).toEqual(rows(plain.summary));
    }
  }, 300_000);
});
