/**
 * Run folders written directly in the run-store format (config.json with its hash, metrics.jsonl,
 * checksummed checkpoints, summary.json), with values chosen so that every statistic of a report
 * can be checked by hand. No training and no tensor library.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunStore, configHash, writeFileAtomic, type StoredTensor } from '@grokking-tickets/run-store';

export const P = 7;
export const D_EMB = 8;
export const D_MODEL = 4;
export const SHAPES: Record<string, number[]> = { W_E: [D_EMB, P], W_in: [D_MODEL, D_EMB], W_out: [D_EMB, D_MODEL], W_U: [D_EMB, P] };
export const TOTAL = 2 * D_EMB * P + 2 * D_MODEL * D_EMB; // 176

export const tmp = (prefix = 'gt-report-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/**
 * Weights whose effective input matrix A = W_in W_E has every row cos(2π·fIn·x/p) and whose output
 * matrix B = W_outᵀ W_U has every row cos(2π·fOut·x/p): W_in = [I 0], W_out = [I; 0].
 */
export function periodicWeights(fIn: number, fOut: number): Record<string, Float32Array> {
  const W_E = new Float32Array(D_EMB * P);
  const W_U = new Float32Array(D_EMB * P);
  for (let r = 0; r < D_MODEL; r++) {
    for (let x = 0; x < P; x++) {
      W_E[r * P + x] = Math.cos((2 * Math.PI * fIn * x) / P);
      W_U[r * P + x] = Math.cos((2 * Math.PI * fOut * x) / P);
    }
  }
  const W_in = new Float32Array(D_MODEL * D_EMB);
  const W_out = new Float32Array(D_EMB * D_MODEL);
  for (let i = 0; i < D_MODEL; i++) {
    W_in[i * D_EMB + i] = 1;
    W_out[i * D_MODEL + i] = 1;
  }
  return { W_E, W_in, W_out, W_U };
}

/** Keeps the first `keep` entries of every tensor. */
export function prefixMasks(keep: number): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, Float32Array.from({ length: s[0]! * s[1]! }, (_, i) => (i < keep ? 1 : 0))]));
}

export interface FixtureRun {
  /** Test accuracy per evaluation (steps 0, 100, ...); train accuracy is 1 from step 100. */
  testAcc: number[];
  masks?: Record<string, Float32Array>;
  /** Input-side frequency statistic logged at steps 0, 200, 400 (omit for no analysis). */
  entropy?: number[];
  weights?: Record<string, Float32Array>;
  checkpoints?: boolean;
  finished?: boolean;
  provenance?: Record<string, unknown> | null;
}

/** Writes a run folder; returns its path. */
export async function makeRun(dir: string, run: FixtureRun): Promise<string> {
  const steps = (run.testAcc.length - 1) * 100;
  const config = {
    task: { name: 'modular', op: 'add', p: P, trainFraction: 0.5, symmetric: true },
    model: { kind: 'mlp', vocab: P, dEmb: D_EMB, dModel: D_MODEL, hiddenLayers: 0, weightScale: 1 },
    optimizer: { lr: 0.001, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 1 },
    steps,
    evalEvery: 100,
    analysisEvery: 200,
    checkpointEvery: 0,
    checkpointSteps: [],
    resumeEvery: 100,
    seed: 0,
    backend: 'wasm',
  };
  const hash = configHash(config);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  const store = new RunStore(dir);
  store.writeRecord({ config, configHash: hash, provenance: run.provenance ?? null, parameters: Object.entries(SHAPES).map(([name, shape]) => ({ name, shape, prunable: true })) });
  const rows = run.testAcc.map((t, i) => {
    const step = i * 100;
    const row: Record<string, unknown> = {
      step,
      train_loss: 1 / (1 + step),
      train_acc: step === 0 ? 0.1 : 1,
      test_loss: 2 - t,
      test_acc: t,
      l1norm: 10 - i,
      l2norm: 5 - i / 10,
      l1mask_norm: 10 - i,
      l2mask_norm: 5 - i / 10,
      l1_global: 40 - i,
      l2_global: 20 - i / 10,
    };
    if (run.entropy && step % 200 === 0 && run.entropy[step / 200] !== undefined) {
      Object.assign(row, { freq_entropy_in: run.entropy[step / 200], freq_shannon_in: 1, gini_in: 0.5, key_freqs_in: [[2, 4]], freq_entropy_out: 1.5, freq_shannon_out: 1, gini_out: 0.5, key_freqs_out: [[3, 4]] });
    }
    return row;
  });
  store.writeMetrics(rows);
  if (run.checkpoints ?? true) {
    const weights = run.weights ?? periodicWeights(2, 3);
    const extra: Record<string, StoredTensor> = {};
    for (const [k, m] of Object.entries(run.masks ?? {})) extra[`mask/${k}`] = { dtype: 'F32', shape: SHAPES[k]!, data: m };
    const masked = Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, run.masks?.[k] ? w.map((x, i) => x * run.masks![k]![i]!) : w]));
    await store.saveWeights('init', SHAPES, masked, { kind: 'init', step: 0, configHash: hash }, extra);
    await store.saveWeights('final', SHAPES, masked, { kind: 'final', step: steps, configHash: hash });
  }
  if (run.finished ?? true) store.writeJson('summary.json', { status: 'finished', steps });
  return dir;
}

/**
 * A ticket experiment folder as `grokking-tickets ticket --dense` leaves it when the dense arm is the
 * reused dense run: `ticket.json`, `arms/{ticket,same-l2,random}`, and the dense run in `dense-source`.
 * Dense reaches 95 % test accuracy at step 300, the ticket at 100 (3x), same-l2 at 200 (1.5x), the
 * random mask never.
 */
export async function makeExperiment(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const config = { denseDir: null, fromStep: 'final', pruner: 'magnitude', pruningRate: 0.6, rewindStep: 'init', arms: ['ticket', 'dense', 'same-l2', 'random'], retrain: {} };
  writeFileAtomic(path.join(dir, 'ticket.json'), JSON.stringify({ config, identity: 'fixture' }));
  await makeRun(path.join(dir, 'dense-source'), { testAcc: [0, 0.1, 0.5, 0.96, 1], entropy: [3.4, 3.4, 3.0] });
  await makeRun(path.join(dir, 'arms', 'ticket'), { testAcc: [0, 0.97, 1, 1, 1], entropy: [3.4, 3.0, 3.0], masks: prefixMasks(20) });
  await makeRun(path.join(dir, 'arms', 'same-l2'), { testAcc: [0, 0.5, 0.95, 1, 1], entropy: [3.4, 3.3, 3.1] });
  await makeRun(path.join(dir, 'arms', 'random'), { testAcc: [0, 0.01, 0.02, 0.03, 0.04], masks: prefixMasks(10) });
  return dir;
}
