import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { loadCheckpoint } from '@grokking-tickets/run-store';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTicket } from '../src/index.js';

const DENSE = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 24, dModel: 12 },
  optimizer: { lr: 0.01 },
  steps: 120,
  evalEvery: 20,
  checkpointEvery: 0,
  resumeEvery: 60,
  seed: 2,
  backend: 'wasm' as const,
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-summary-'));
const maskOf = async (file: string) => {
  const t = (await loadCheckpoint(file)).tensors;
  return Object.fromEntries(
    Object.entries(t)
      .filter(([k]) => k.startsWith('mask/'))
      .map(([k, v]) => [k.slice(5), v.data as Float32Array]),
  );
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('ticket summary: mask statistics and overlaps', () => {
  it("counts every masked arm's mask and the Jaccard overlap of every pair, from the arms' init checkpoints", async () => {
    const dir = tmp();
    const res = await runTicket({
      dir,
      config: { dense: DENSE, arms: ['ticket', 'dense', 'random', 'snip'], retrain: { steps: 20 } },
    });
    const s = res.summary!;
    // dense is unmasked: left out
    expect(Object.keys(s.maskStats)).toEqual(['ticket', 'random', 'snip']);
    expect(s.maskOverlap.map((o) => [o.a, o.b])).toEqual([
      ['ticket', 'random'],
      ['ticket', 'snip'],
      ['random', 'snip'],
    ]);
    const masks = Object.fromEntries(
      await Promise.all(
        ['ticket', 'random', 'snip'].map(
          async (arm) => [arm, await maskOf(path.join(dir, 'arms', arm, 'checkpoints', 'init.safetensors'))] as const,
        ),
      ),
    );
    const N = 24 * 11 + 12 * 24 + 24 * 12 + 24 * 11;
    for (const arm of ['ticket', 'random', 'snip']) {
      const kept = Object.values(masks[arm]!).reduce((n, m) => n + m.filter((x) => x === 1).length, 0);
      expect(s.maskStats[arm]).toMatchObject({ kept, total: N, keptFraction: kept / N });
      expect(s.maskStats[arm]!.perTensor.W_in!.total).toBe(12 * 24);
    }
    // the ticket arm's mask is the experiment's ticket mask
    expect(s.maskStats.ticket!.kept).toBe(s.kept);
    expect(s.maskStats.ticket!.kept).toBe(N - Math.floor(0.6 * N));
    // Jaccard by hand: entries kept by both over entries kept by either
    for (const o of s.maskOverlap) {
      let both = 0;
      let either = 0;
      for (const k of Object.keys(masks[o.a]!)) {
        const x = masks[o.a]![k]!;
        const y = masks[o.b]![k]!;
        for (let i = 0; i < x.length; i++) {
          if (x[i] && y[i]) both++;
          if (x[i] || y[i]) either++;
        }
      }
      expect(o.intersection).toBe(both);
      expect(o.union).toBe(either);
      expect(o.jaccard).toBe(both / either);
      expect(o.jaccard).toBeGreaterThan(0);
      expect(o.jaccard).toBeLessThan(1);
    }
    // and it is what ticket-summary.json holds
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'ticket-summary.json'), 'utf8'));
    expect(stored.maskOverlap).toEqual(s.maskOverlap);
    expect(stored.maskStats).toEqual(s.maskStats);
  }, 300_000);
});
