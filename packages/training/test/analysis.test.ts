import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@grokking-tickets/backend';
import { createModel, initialWeights } from '@grokking-tickets/models';
import { RunStore } from '@grokking-tickets/run-store';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeRun,
  configHash,
  resolveTrainConfig,
  runTraining,
  type AnalysisRow,
  type EvalRow,
  type TrainConfigInput,
} from '../src/index.js';

// analysisEvery = checkpointEvery, so every checkpoint has a logged analysis row to compare with.
const SMALL: TrainConfigInput = {
  task: { name: 'modular', op: 'add', p: 11, trainFraction: 0.5 },
  model: { kind: 'mlp', dEmb: 32, dModel: 16 },
  optimizer: { lr: 0.01 },
  steps: 150,
  evalEvery: 10,
  analysisEvery: 50,
  checkpointEvery: 50,
  resumeEvery: 50,
  seed: 3,
  backend: 'wasm',
};
const MODEL = { vocab: 11, dEmb: 32, dModel: 16 };
const ANALYSIS_KEYS = [
  'freq_entropy_in',
  'freq_shannon_in',
  'gini_in',
  'key_freqs_in',
  'freq_entropy_out',
  'freq_shannon_out',
  'gini_out',
  'key_freqs_out',
  'restricted_loss_train',
  'restricted_loss_all',
  'excluded_loss_train',
  'excluded_loss_all',
];

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-analysis-'));
const readJsonl = <T>(file: string): T[] =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);
/** Keeps only the analysis fields of a row (what JSON holds: NaN becomes null). */
const analysisOf = (row: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(Object.fromEntries(ANALYSIS_KEYS.map((k) => [k, row[k]]))));
/** Every third weight pruned, as a fixed mask pattern. */
const thirdMasks = () => {
  const w = initialWeights(createModel('mlp', MODEL), 3);
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((_, i) => (i % 3 === 0 ? 0 : 1))]));
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('analysis rows of a training run', () => {
  it('are logged every analysisEvery steps and at the end, and never with analysisEvery 0', async () => {
    const dir = tmp();
    await runTraining({ config: { ...SMALL, steps: 130, analysisEvery: 40 }, dir });
    const rows = readJsonl<EvalRow>(path.join(dir, 'metrics.jsonl'));
    expect(rows.filter((r) => 'freq_entropy_in' in r).map((r) => r.step)).toEqual([0, 40, 80, 120, 130]);
    for (const r of rows) {
      // every evaluation row carries the norms, masked and unmasked
      for (const k of ['l1norm', 'l2norm', 'l1mask_norm', 'l2mask_norm', 'l1_global', 'l2_global'])
        expect(Number.isFinite(r[k] as number), k).toBe(true);
    }
    const withAnalysis = rows.find((r) => r.step === 40)!;
    for (const k of ANALYSIS_KEYS) expect(withAnalysis, k).toHaveProperty(k);
    // random init of this small MLP: neither a single frequency nor flat
    expect(rows[0]!.freq_entropy_in).toBeGreaterThan(1.1);
    const off = tmp();
    await runTraining({ config: { ...SMALL, steps: 40, analysisEvery: 0 }, dir: off });
    expect(readJsonl<EvalRow>(path.join(off, 'metrics.jsonl')).some((r) => 'freq_entropy_in' in r)).toBe(false);
  });
});

describe('analyzeRun', () => {
  it('recomputes from the checkpoints exactly what the training run logged (masked run)', async () => {
    const dir = tmp();
    const masks = thirdMasks();
    await runTraining({ config: SMALL, dir, masks });
    const logged = new Map(readJsonl<EvalRow>(path.join(dir, 'metrics.jsonl')).map((r) => [r.step, r]));
    const seen: number[] = [];
    const res = await analyzeRun(dir, { onCheckpoint: (row) => seen.push(row.step) });
    expect(res.file).toBe(path.join(dir, 'analysis.jsonl'));
    expect(res.rows.map((r) => [r.checkpoint, r.step])).toEqual([
      ['init', 0],
      ['step-000050', 50],
      ['step-000100', 100],
      ['final', 150],
    ]);
    expect(seen).toEqual([0, 50, 100, 150]);
    for (const row of res.rows) expect(analysisOf(row), `step ${row.step}`).toEqual(analysisOf(logged.get(row.step)!));
    // the file holds the same rows (JSON), one per checkpoint
    const stored = readJsonl<AnalysisRow>(res.file!);
    expect(stored).toEqual(JSON.parse(JSON.stringify(res.rows)));
    // mask statistics on the init row only: every third weight pruned
    const total = Object.values(masks).reduce((n, m) => n + m.length, 0);
    const kept = Object.values(masks).reduce((n, m) => n + m.filter((x) => x === 1).length, 0);
    expect(stored[0]!.maskStats).toMatchObject({ kept, total, keptFraction: kept / total });
    // W_in has 512 entries; indices 0, 3, ..., 510 (171 of them) are pruned
    expect(stored[0]!.maskStats!.perTensor.W_in).toEqual({ kept: 341, total: 512, keptFraction: 341 / 512 });
    expect(stored.slice(1).every((r) => r.maskStats === undefined)).toBe(true);
    // and it does not touch the training record
    expect(new RunStore(dir).readRecord().configHash).toBe(configHash(resolveTrainConfig(SMALL)));
  });

  it('a hand-checkable state: every neuron one pure frequency', async () => {
    // A = W_in W_E and B = W_outᵀ W_U, with W_in = [I 0], W_out = [I; 0]: A's rows are W_E's first
    // 16 rows, B's rows W_U's first 16 rows. Put cos(2π·2x/11) in every row of W_E and cos(2π·3x/11)
    // in W_U. Reference statistic over K = ⌊11/2⌋ − 1 = 4 frequencies for one frequency:
    // ln(K − 1 + e) − 1; Shannon 0; the summed spectrum is one frequency of ⌊11/2⌋ = 5: Gini 4/5.
    const dir = tmp();
    const config = { ...SMALL, steps: 20, checkpointEvery: 10, analysisEvery: 0 };
    await runTraining({ config, dir });
    const p = 11;
    const { dEmb, dModel } = MODEL;
    const W_E = new Float32Array(dEmb * p);
    const W_U = new Float32Array(dEmb * p);
    const W_in = new Float32Array(dModel * dEmb);
    const W_out = new Float32Array(dEmb * dModel);
    for (let r = 0; r < dEmb; r++) {
      for (let x = 0; x < p; x++) {
        W_E[r * p + x] = r < dModel ? Math.cos((2 * Math.PI * 2 * x) / p) : 0;
        W_U[r * p + x] = r < dModel ? Math.cos((2 * Math.PI * 3 * x) / p) : 0;
      }
    }
    for (let i = 0; i < dModel; i++) {
      W_in[i * dEmb + i] = 1;
      W_out[i * dModel + i] = 1;
    }
    const store = new RunStore(dir);
    const hash = configHash(resolveTrainConfig(config));
    const shapes = { W_E: [dEmb, p], W_in: [dModel, dEmb], W_out: [dEmb, dModel], W_U: [dEmb, p] };
    await store.saveWeights(
      'step-000010',
      shapes,
      { W_E, W_in, W_out, W_U },
      { kind: 'step', step: 10, configHash: hash },
    );
    const { rows } = await analyzeRun(dir, { write: false });
    expect(fs.existsSync(path.join(dir, 'analysis.jsonl'))).toBe(false);
    const r = rows.find((x) => x.checkpoint === 'step-000010')!;
    const single = Math.log(4 - 1 + Math.E) - 1; // 0.9533...
    expect(r.freq_entropy_in).toBeCloseTo(single, 6);
    expect(r.freq_entropy_out).toBeCloseTo(single, 6);
    expect(r.freq_shannon_in).toBeCloseTo(0, 6);
    expect(r.freq_shannon_out).toBeCloseTo(0, 6);
    expect(r.gini_in).toBeCloseTo(4 / 5, 6);
    expect(r.gini_out).toBeCloseTo(4 / 5, 6);
    expect(r.key_freqs_in).toEqual([[2, 16]]);
    expect(r.key_freqs_out).toEqual([[3, 16]]);
    // the logits are Bᵀ ReLU(A[:, a] + A[:, b]) with every row of A the same cosine: finite losses
    expect(Number.isFinite(r.restricted_loss_all)).toBe(true);
    expect(r.maskStats).toBeUndefined();
  });

  it('refuses a folder that is not a run, a run without checkpoints, and a run being trained', async () => {
    await expect(analyzeRun(tmp())).rejects.toThrow(/holds no run \(no config\.json\)/);
    const dir = tmp();
    await runTraining({ config: { ...SMALL, steps: 10 }, dir });
    fs.rmSync(path.join(dir, 'checkpoints'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'checkpoints'));
    await expect(analyzeRun(dir)).rejects.toThrow(new RegExp(`${path.join(dir, 'checkpoints')} holds no checkpoints`));
    const busy = tmp();
    await runTraining({ config: { ...SMALL, steps: 10 }, dir: busy });
    const lock = new RunStore(busy).lock('a test');
    try {
      await expect(analyzeRun(busy)).rejects.toThrow(/lock|in use|held/i);
    } finally {
      lock.release();
    }
    // an edited config is refused by its hash
    const edited = tmp();
    await runTraining({ config: { ...SMALL, steps: 10 }, dir: edited });
    const file = path.join(edited, 'config.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"seed": 3', '"seed": 4'));
    await expect(analyzeRun(edited)).rejects.toThrow(/config\.json: config does not match its hash/);
  });
});
