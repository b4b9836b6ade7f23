import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { magnitudeMask, maskDistance, maskStats, weightSparsity } from '@grokking-tickets/grokking-metrics';
import { maskGraphMetrics, mlpNetwork } from '@grokking-tickets/mask-graph';
import { createModel, initialWeights, type NamedArrays } from '@grokking-tickets/models';
import { buildMask, getPruner } from '@grokking-tickets/pruners';
import { RunStore } from '@grokking-tickets/run-store';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeRun,
  configHash,
  resolveTrainConfig,
  runTraining,
  type GraphFile,
  type StructureFile,
  type TrainConfigInput,
} from '../src/index.js';

// Learns (a + b) mod 11 within a few hundred steps: memorises by ~50, generalises later.
const SMALL: TrainConfigInput = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 32, dModel: 16 },
  optimizer: { lr: 0.01 },
  steps: 150,
  evalEvery: 10,
  analysisEvery: 0,
  checkpointEvery: 50,
  resumeEvery: 50,
  seed: 3,
  backend: 'wasm',
};
const MODEL = { vocab: 11, dEmb: 32, dModel: 16 };
const NAMES = ['W_E', 'W_in', 'W_out', 'W_U'];

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-structure-'));

beforeAll(async () => {
  await initBackend('wasm');
});

async function pruned(weights: NamedArrays, pruningRate: number): Promise<NamedArrays> {
  const model = createModel('mlp', MODEL);
  return (await buildMask(getPruner('magnitude'), { model, weights, seed: 0 }, { pruningRate })).masks;
}

describe('magnitudeMask is the magnitude pruner', () => {
  it('gives buildMask(magnitude, global, one-shot) masks, bit for bit, on the paper MLP and a small one', async () => {
    const paper = createModel('mlp');
    for (const [model, seed] of [
      [paper, 0],
      [createModel('mlp', MODEL), 5],
    ] as const) {
      const w = initialWeights(model, seed);
      for (const rate of [0, 0.1, 0.6, 0.9, 0.99]) {
        const want = (await buildMask(getPruner('magnitude'), { model, weights: w, seed: 0 }, { pruningRate: rate }))
          .masks;
        const got = magnitudeMask(w, rate, NAMES);
        for (const n of NAMES)
          expect(Buffer.from(got[n]!.buffer).equals(Buffer.from(want[n]!.buffer)), `${n} at ${rate}`).toBe(true);
      }
    }
  });
  it('the reference density at θ0 of the paper MLP: sparsity ≈ 0.85 at k = 0.2 (density.ipynb: 0.849)', () => {
    // Not bit-comparable (another generator), but the same distribution: W_E and W_out carry the largest
    // weights, so ε = 0.2·max|w| ≈ 0.13 is below one standard deviation of W_E, W_out and far above W_in, W_U.
    const s = weightSparsity(initialWeights(createModel('mlp'), 0));
    expect(s.sparsity).toBeGreaterThan(0.83);
    expect(s.sparsity).toBeLessThan(0.87);
    expect(s.total).toBe(115_000);
  });
});

describe('analyzeRun: structure.json and graph.json', () => {
  it('a dense run: the tickets of every checkpoint, as the pruner makes them, and their graph metrics', async () => {
    const dir = tmp();
    await runTraining({ config: SMALL, dir });
    const res = await analyzeRun(dir, { graphSeed: 1 });
    expect(res.structureFile).toBe(path.join(dir, 'structure.json'));
    expect(res.graphFile).toBe(path.join(dir, 'graph.json'));
    const structure = JSON.parse(fs.readFileSync(res.structureFile!, 'utf8')) as StructureFile;
    expect(structure).toEqual(JSON.parse(JSON.stringify(res.structure)));
    expect(structure.format).toBe('grokking-tickets/structure@1');
    expect(structure.ticket).toEqual({ pruner: 'magnitude', scope: 'global', pruningRate: 0.6, tensors: NAMES });
    expect(structure.final).toEqual({ checkpoint: 'final', step: 150 });
    expect(structure.randomDistance).toBeCloseTo(0.75, 12);
    expect(structure.rows.map((r) => [r.checkpoint, r.step, r.previousStep])).toEqual([
      ['init', 0, null],
      ['step-000050', 50, 0],
      ['step-000100', 100, 50],
      ['final', 150, 100],
    ]);
    // independently: the pruner's masks from each checkpoint, and maskDistance / weightSparsity of them
    const store = new RunStore(dir);
    const expect_ = {
      configHash: configHash(resolveTrainConfig(SMALL)),
      shapes: { W_E: [32, 11], W_in: [16, 32], W_out: [32, 16], W_U: [32, 11] },
    };
    const weights = await Promise.all(
      structure.rows.map(async (r) => (await store.loadWeights(r.checkpoint, expect_)).weights),
    );
    const tickets = await Promise.all(weights.map((w) => pruned(w, 0.6)));
    const final = tickets[3]!;
    structure.rows.forEach((row, i) => {
      expect(row.distanceToFinal).toBeCloseTo(maskDistance(tickets[i]!, final).distance, 14);
      if (i > 0) {
        const d = maskDistance(tickets[i - 1]!, tickets[i]!);
        expect(row.distanceFromPrevious).toBeCloseTo(d.distance, 14);
        expect(row.distanceFromPreviousPerTensor).toEqual(JSON.parse(JSON.stringify(d.perTensor)));
      }
      expect(row.sparsity).toBe(weightSparsity(weights[i]!).sparsity);
      expect(row.keptFraction).toBe(maskStats(tickets[i]!).keptFraction);
    });
    expect(structure.rows[3]!.distanceToFinal).toBe(0);
    // the change analysis over the logged metrics
    const metrics = store.readMetricsFile().rows;
    const memorized = metrics.find((r) => (r.train_acc as number) >= 0.99)?.step ?? null;
    expect(structure.change.memorized).toBe(memorized);
    expect(structure.change.intervals.every((i) => i.from >= structure.change.after)).toBe(true);

    const graph = JSON.parse(fs.readFileSync(res.graphFile!, 'utf8')) as GraphFile;
    expect(graph.format).toBe('grokking-tickets/mask-graph@1');
    expect(graph.network).toEqual(mlpNetwork(MODEL));
    const names = graph.masks.map((m) => m.name);
    expect(names[0]).toBe('grokking ticket');
    expect(names.slice(-2)).toEqual(['random (per-tensor counts)', 'random (uniform)']);
    const ticket = graph.masks[0]!;
    const want = maskGraphMetrics(final, mlpNetwork(MODEL));
    expect(ticket).toMatchObject(JSON.parse(JSON.stringify(want)));
    expect([ticket.step, ticket.kept]).toEqual([150, maskStats(final).kept]);
    // random masks keep the ticket's counts: per tensor, or only in total
    const perTensor = graph.masks.find((m) => m.name === 'random (per-tensor counts)')!;
    expect(perTensor.keptPerTensor).toEqual(ticket.keptPerTensor);
    const uniform = graph.masks.find((m) => m.name === 'random (uniform)')!;
    expect(uniform.kept).toBe(ticket.kept);
    expect(uniform.keptPerTensor).not.toEqual(ticket.keptPerTensor);
  });

  it('the memorisation ticket at a given step; options; a masked run measures its own mask', async () => {
    const dir = tmp();
    await runTraining({ config: SMALL, dir });
    const res = await analyzeRun(dir, { memorizationStep: 50, pruningRate: 0.8, sparsityThreshold: 0.1, write: false });
    expect(res.structureFile).toBeNull();
    expect(fs.existsSync(path.join(dir, 'structure.json'))).toBe(false);
    expect(res.structure!.ticket.pruningRate).toBe(0.8);
    expect(res.structure!.sparsity.relativeThreshold).toBe(0.1);
    expect(res.structure!.rows[0]!.keptFraction).toBeCloseTo(0.2, 2);
    const mem = res.graph!.masks.find((m) => m.name === 'memorisation ticket')!;
    expect(mem.step).toBe(50);
    expect(mem.source).toMatch(/step 50 \(the step asked for\), pruning rate 0.8/);
    await expect(analyzeRun(dir, { memorizationStep: 60, write: false })).rejects.toThrow(
      /holds no checkpoint at step 60 for the memorisation ticket \(steps: 0, 50, 100, 150\)/,
    );
    const late = await analyzeRun(dir, { changeAfter: 50, graph: false, write: false });
    expect([late.structure!.change.after, late.structure!.change.afterRule]).toEqual([50, 'given']);
    expect(late.structure!.change.intervals.map((i) => [i.from, i.to])).toEqual([
      [50, 100],
      [100, 150],
    ]);
    const off = await analyzeRun(dir, { structure: false, graph: false, write: false });
    expect([off.structure, off.graph]).toEqual([null, null]);

    const masked = tmp();
    const w = initialWeights(createModel('mlp', MODEL), 3);
    const masks = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((_, i) => (i % 4 === 0 ? 0 : 1))]));
    await runTraining({ config: SMALL, dir: masked, masks });
    const r = await analyzeRun(masked);
    expect(r.structure).toBeNull();
    expect(fs.existsSync(path.join(masked, 'structure.json'))).toBe(false);
    expect(r.graph!.masks.map((m) => m.name)).toEqual(['run mask']);
    expect(r.graph!.masks[0]).toMatchObject(JSON.parse(JSON.stringify(maskGraphMetrics(masks, mlpNetwork(MODEL)))));
  });

  it('a Transformer run has no graph metrics (not a layered network), but its structure', async () => {
    const dir = tmp();
    await runTraining({
      config: {
        ...SMALL,
        model: { kind: 'transformer', dModel: 16, dMlp: 16, heads: 2, dHead: 8 },
        steps: 20,
        checkpointEvery: 10,
      },
      dir,
    });
    const r = await analyzeRun(dir, { write: false });
    expect(r.graph).toBeNull();
    expect(r.structure!.rows.map((x) => x.step)).toEqual([0, 10, 20]);
    expect(r.structure!.ticket.tensors).toContain('W_Q');
  });
});
