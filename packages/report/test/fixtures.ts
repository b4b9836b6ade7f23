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
export const SHAPES: Record<string, number[]> = {
  W_E: [D_EMB, P],
  W_in: [D_MODEL, D_EMB],
  W_out: [D_EMB, D_MODEL],
  W_U: [D_EMB, P],
};
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
  return Object.fromEntries(
    Object.entries(SHAPES).map(([k, s]) => [
      k,
      Float32Array.from({ length: s[0]! * s[1]! }, (_, i) => (i < keep ? 1 : 0)),
    ]),
  );
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
  store.writeRecord({
    config,
    configHash: hash,
    provenance: run.provenance ?? null,
    parameters: Object.entries(SHAPES).map(([name, shape]) => ({ name, shape, prunable: true })),
  });
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
      Object.assign(row, {
        freq_entropy_in: run.entropy[step / 200],
        freq_shannon_in: 1,
        gini_in: 0.5,
        key_freqs_in: [[2, 4]],
        freq_entropy_out: 1.5,
        freq_shannon_out: 1,
        gini_out: 0.5,
        key_freqs_out: [[3, 4]],
      });
    }
    return row;
  });
  store.writeMetrics(rows);
  if (run.checkpoints ?? true) {
    const weights = run.weights ?? periodicWeights(2, 3);
    const extra: Record<string, StoredTensor> = {};
    for (const [k, m] of Object.entries(run.masks ?? {}))
      extra[`mask/${k}`] = { dtype: 'F32', shape: SHAPES[k]!, data: m };
    const masked = Object.fromEntries(
      Object.entries(weights).map(([k, w]) => [k, run.masks?.[k] ? w.map((x, i) => x * run.masks![k]![i]!) : w]),
    );
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
  const config = {
    denseDir: null,
    fromStep: 'final',
    pruner: 'magnitude',
    pruningRate: 0.6,
    rewindStep: 'init',
    arms: ['ticket', 'dense', 'same-l2', 'random'],
    retrain: {},
  };
  writeFileAtomic(path.join(dir, 'ticket.json'), JSON.stringify({ config, identity: 'fixture' }));
  await makeRun(path.join(dir, 'dense-source'), { testAcc: [0, 0.1, 0.5, 0.96, 1], entropy: [3.4, 3.4, 3.0] });
  await makeRun(path.join(dir, 'arms', 'ticket'), {
    testAcc: [0, 0.97, 1, 1, 1],
    entropy: [3.4, 3.0, 3.0],
    masks: prefixMasks(20),
  });
  await makeRun(path.join(dir, 'arms', 'same-l2'), { testAcc: [0, 0.5, 0.95, 1, 1], entropy: [3.4, 3.3, 3.1] });
  await makeRun(path.join(dir, 'arms', 'random'), { testAcc: [0, 0.01, 0.02, 0.03, 0.04], masks: prefixMasks(10) });
  return dir;
}

/**
 * A ticket experiment folder as `grokking-tickets sweep` leaves it: `ticket.json` naming the shared
 * dense run (`denseRun`) and the shared mask-free dense arm retrained without weight decay
 * (`denseArm`), both folders beside the experiment, and `arms/ticket`. Dense arm: never 95 %; the
 * dense run: step 300; the ticket: step 100.
 */
export async function makeSweepExperiment(runsDir: string): Promise<string> {
  const dir = path.join(runsDir, 'ticket-abc');
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    denseDir: null,
    fromStep: 'final',
    pruner: 'magnitude',
    pruningRate: 0.6,
    rewindStep: 'init',
    arms: ['ticket', 'dense'],
    retrain: { weightDecay: 0 },
  };
  writeFileAtomic(
    path.join(dir, 'ticket.json'),
    JSON.stringify({ config, identity: 'abc', denseRun: '../add67-mlp-s0-dense', denseArm: '../add67-mlp-s0-wd0' }),
  );
  await makeRun(path.join(runsDir, 'add67-mlp-s0-dense'), { testAcc: [0, 0.1, 0.5, 0.96, 1] });
  await makeRun(path.join(runsDir, 'add67-mlp-s0-wd0'), { testAcc: [0, 0.1, 0.2, 0.3, 0.4] });
  await makeRun(path.join(dir, 'arms', 'ticket'), { testAcc: [0, 0.97, 1, 1, 1], masks: prefixMasks(20) });
  return dir;
}

/**
 * A row of a fixture sweep: the fields that matter for a test; the rest get the values `grokking-tickets sweep` writes
 * for them.
 */
export interface FixtureSweepRow {
  runId: string;
  role: 'train' | 'dense-source' | 'arm';
  arm?: string | null;
  points: number[];
  seed: number;
  status?: string;
  error?: string | null;
  pruningRate?: number | null;
  fromStep?: number | 'final' | null;
  variant?: string | null;
  stepsToTest95?: number | null;
  denseStepsToTest95?: number | null;
  finalTestAcc?: number | null;
  retrainWeightDecay?: number | null;
  dir?: string;
}

/** Grid points in file order (first axis outermost), as `grokking-tickets sweep` numbers them. */
export function gridPoints(axes: Array<{ name: string; values: unknown[] }>): Array<Record<string, unknown>> {
  let grid: Array<Record<string, unknown>> = [{}];
  for (const a of axes) grid = grid.flatMap((p) => a.values.map((v) => ({ ...p, [a.name]: v })));
  return grid;
}

/**
 * Writes a sweep folder as `grokking-tickets sweep` leaves it: `sweep.json` (format 1: base, axes,
 * points with their runs, runs) and `sweep-results.jsonl` with every column of the results format
 * (speedupVsDense computed from the steps as the sweep does). No run folders: a report reads only
 * these two files. Returns the folder.
 */
export function makeSweep(
  dir: string,
  sweep: {
    name: string;
    kind?: 'ticket' | 'train';
    description?: string;
    axes: Array<{ name: string; values: unknown[] }>;
    rows: FixtureSweepRow[];
  },
): string {
  fs.mkdirSync(dir, { recursive: true });
  const grid = gridPoints(sweep.axes);
  const label = (axes: Record<string, unknown>) =>
    Object.entries(axes)
      .map(
        ([k, v]) =>
          `${k} ${k === 'variant' ? (v as { name: string }).name : typeof v === 'string' ? v : JSON.stringify(v)}`,
      )
      .join(', ');
  const points = grid.map((axes, index) => ({
    index,
    axes,
    label: label(axes),
    runs: sweep.rows.filter((r) => r.points.includes(index)).map((r) => r.runId),
  }));
  const record = {
    format: 1,
    name: sweep.name,
    ...(sweep.description !== undefined ? { description: sweep.description } : {}),
    kind: sweep.kind ?? 'ticket',
    runsDir: '../runs',
    base: {},
    axes: sweep.axes,
    points,
    experiments: [],
    runs: sweep.rows.map((r) => ({
      id: r.runId,
      role: r.role,
      label: r.runId,
      dir: r.dir ?? `../runs/${r.runId}`,
      points: r.points,
    })),
    files: { results: 'sweep-results.jsonl', csv: 'sweep-results.csv', logs: 'logs' },
  };
  writeFileAtomic(path.join(dir, 'sweep.json'), JSON.stringify(record, null, 2));
  const rows = sweep.rows.map((r) => {
    const status = r.status ?? 'finished';
    const done = status === 'finished';
    const t = done ? (r.stepsToTest95 ?? null) : null;
    const dense = r.denseStepsToTest95 ?? null;
    const first = grid[r.points[0]!]!;
    return {
      runId: r.runId,
      role: r.role,
      arm: r.arm ?? null,
      status,
      error: r.error ?? null,
      points: r.points,
      axes: Object.fromEntries(
        Object.entries(first).map(([k, v]) => [k, k === 'variant' ? (v as { name: string }).name : v]),
      ),
      variant: r.variant ?? null,
      task: 'modular',
      op: 'add',
      p: 11,
      trainFraction: 0.5,
      model: 'mlp',
      seed: r.seed,
      steps: 2000,
      weightDecay: 1,
      lr: 0.01,
      pruner: r.role === 'arm' && r.pruningRate != null ? 'magnitude' : null,
      pruningRate: r.pruningRate ?? null,
      fromStep: r.fromStep ?? (r.role === 'arm' && r.pruningRate != null ? 'final' : null),
      rewindStep: r.role === 'arm' && r.pruningRate != null ? 'init' : null,
      retrainWeightDecay: r.role === 'arm' ? (r.retrainWeightDecay ?? 0) : null,
      stepsToTrain95: done ? 20 : null,
      stepsToTrain99: done ? 40 : null,
      stepsToTest50: t,
      stepsToTest90: t,
      stepsToTest95: t,
      stepsToTest99: t,
      stepsToTest100: null,
      denseStepsToTest95: r.role === 'arm' ? dense : null,
      speedupVsDense: r.role === 'arm' && t !== null && dense !== null && t > 0 ? dense / t : null,
      finalTrainAcc: done ? 1 : null,
      finalTestAcc: done ? (r.finalTestAcc ?? null) : null,
      finalTrainLoss: done ? 0.01 : null,
      finalTestLoss: done ? 0.5 : null,
      initialL1: done ? 200 : null,
      initialL2: done ? 8 : null,
      finalL1: done ? 300 : null,
      finalL2: done ? 10 : null,
      keptWeights: done ? 1000 : null,
      totalWeights: done ? 1000 : null,
      keptFraction: done ? 1 : null,
      alpha: null,
      evalEvery: 20,
      wallTimeSec: done ? 1 : null,
      msPerStep: done ? 1 : null,
      backend: done ? 'wasm' : null,
      dir: r.dir ?? `../runs/${r.runId}`,
    };
  });
  writeFileAtomic(path.join(dir, 'sweep-results.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

/**
 * Claim E3 in miniature with values chosen by hand: seeds 0–2 × pruning rates 0.2, 0.5, 0.8, arms
 * ticket, dense (mask-free: one run per seed serves every rate) and random; retrained with λ 0.
 *
 * | seed | dense (steps to 95 %) | ticket 0.2 | ticket 0.5 | ticket 0.8 | random |
 * | 0 | 1000 | not reached (final 0.6) | 100 (10x; final 1) | not reached (0.3) | never |
 * | 1 | 1200 | 400 (3x; 0.97) | 200 (6x; 0.99) | 50 (24x; 0.96) | never |
 * | 2 | not reached (final 0.5) | not reached (0.4) | failed | 40 (dense not reached; 0.97) | never |
 *
 * The dense source runs (λ 1) reach 95 % at 1000, 1100 and 900.
 */
export function makeRatesSweep(dir: string): string {
  const rates = [0.2, 0.5, 0.8];
  const denseSteps = [1000, 1200, null];
  const denseFinal = [1, 1, 0.5];
  const ticket: Record<number, Array<[number | null, number | null, string?]>> = {
    0.2: [
      [null, 0.6],
      [400, 0.97],
      [null, 0.4],
    ],
    0.5: [
      [100, 1],
      [200, 0.99],
      [null, null, 'failed'],
    ],
    0.8: [
      [null, 0.3],
      [50, 0.96],
      [40, 0.97],
    ],
  };
  const rows: FixtureSweepRow[] = [];
  for (const seed of [0, 1, 2]) {
    const pts = rates.map((_, k) => 3 * seed + k);
    rows.push({
      runId: `dense-source-${seed}`,
      role: 'dense-source',
      points: pts,
      seed,
      stepsToTest95: [1000, 1100, 900][seed]!,
      finalTestAcc: 1,
    });
    rates.forEach((rate, k) => {
      const [t, acc, status] = ticket[rate]![seed]!;
      rows.push({
        runId: `e${seed}${k}-ticket`,
        role: 'arm',
        arm: 'ticket',
        points: [pts[k]!],
        seed,
        pruningRate: rate,
        stepsToTest95: t,
        finalTestAcc: acc,
        denseStepsToTest95: denseSteps[seed]!,
        ...(status ? { status, error: 'a tensor was NaN at step 120' } : {}),
      });
      if (k === 0)
        rows.push({
          runId: `dense-arm-${seed}`,
          role: 'arm',
          arm: 'dense',
          points: pts,
          seed,
          stepsToTest95: denseSteps[seed]!,
          denseStepsToTest95: denseSteps[seed]!,
          finalTestAcc: denseFinal[seed]!,
        });
      rows.push({
        runId: `e${seed}${k}-random`,
        role: 'arm',
        arm: 'random',
        points: [pts[k]!],
        seed,
        pruningRate: rate,
        stepsToTest95: null,
        denseStepsToTest95: denseSteps[seed]!,
        finalTestAcc: 0.05 + 0.05 * k + 0.01 * seed,
      });
    });
  }
  return makeSweep(dir, {
    name: 'rates',
    description: 'E3 in miniature: tickets retrained without weight decay',
    axes: [
      { name: 'seed', values: [0, 1, 2] },
      { name: 'pruningRate', values: rates },
    ],
    rows,
  });
}

/** A variant name no report may pass through unescaped. */
export const EVIL_VARIANT = `<script>window.__pwned=1</script>"&'`;

/**
 * Claims E4 and E1 in miniature: variants `mlp` and {@link EVIL_VARIANT} × fromStep 100 and final,
 * one seed, arms ticket and dense (the dense arm is the dense run itself: same folder).
 *
 * | variant | dense (steps to 95 %) | ticket from 100 | ticket from final |
 * | mlp | 500 | 300 | 100 |
 * | evil | not reached | 250 | 150 |
 */
export function makePhasesSweep(dir: string, name = 'phases', description = 'E4 in miniature'): string {
  const rows: FixtureSweepRow[] = [];
  const variants = ['mlp', EVIL_VARIANT];
  const dense = [500, null];
  const ticket = [
    [300, 100],
    [250, 150],
  ];
  variants.forEach((variant, v) => {
    const denseDir = `../runs/dense-${v}`;
    rows.push({
      runId: `dense-${v}`,
      role: 'dense-source',
      points: [2 * v, 2 * v + 1],
      seed: 0,
      variant,
      stepsToTest95: dense[v]!,
      finalTestAcc: dense[v] ? 1 : 0.2,
      dir: denseDir,
    });
    (['final', 100] as const).forEach((fromStep) => {
      const k = fromStep === 100 ? 0 : 1;
      rows.push({
        runId: `e${v}${k}-ticket`,
        role: 'arm',
        arm: 'ticket',
        points: [2 * v + k],
        seed: 0,
        variant,
        pruningRate: 0.6,
        fromStep,
        stepsToTest95: ticket[v]![k]!,
        denseStepsToTest95: dense[v]!,
        finalTestAcc: 1,
        retrainWeightDecay: 1,
      });
      rows.push({
        runId: `e${v}${k}-dense`,
        role: 'arm',
        arm: 'dense',
        points: [2 * v + k],
        seed: 0,
        variant,
        pruningRate: 0.6,
        fromStep,
        stepsToTest95: dense[v]!,
        denseStepsToTest95: dense[v]!,
        finalTestAcc: dense[v] ? 1 : 0.2,
        retrainWeightDecay: 1,
        dir: denseDir,
      });
    });
  });
  return makeSweep(dir, {
    name,
    description,
    axes: [
      { name: 'variant', values: variants.map((n) => ({ name: n, set: { dense: { model: { kind: 'mlp' } } } })) },
      { name: 'fromStep', values: [100, 'final'] },
    ],
    rows,
  });
}

/** A train sweep: seeds 0–1 × weight decay 0 and 1; with λ 1 the runs generalise at 800 and 600, with λ 0 never. */
export function makeTrainSweep(dir: string): string {
  const steps = [
    [null, 800],
    [null, 600],
  ];
  const rows: FixtureSweepRow[] = [];
  for (const seed of [0, 1])
    for (const k of [0, 1])
      rows.push({
        runId: `run-${seed}-${k}`,
        role: 'train',
        points: [2 * seed + k],
        seed,
        stepsToTest95: steps[seed]![k]!,
        finalTestAcc: k ? 1 : 0.1,
      });
  return makeSweep(dir, {
    name: 'decay',
    kind: 'train',
    axes: [
      { name: 'seed', values: [0, 1] },
      { name: 'weightDecay', values: [0, 1] },
    ],
    rows,
  });
}
