import {
  firstStepReaching,
  fourierSpectrum,
  maskOverlap,
  maskStats,
  speedup,
  tokenAxisMatrices,
  type TensorOverlap,
  type TokenAxisMatrices,
} from '@grokking-tickets/grokking-metrics';
import type { StoredRow } from '@grokking-tickets/run-store';
import type { ReportData, ReportRun } from './types.js';

/** One run's line in the report's summary table. */
export interface RunStats {
  name: string;
  /** First evaluated step with train (test) accuracy ≥ 0.95: memorised (generalised); null if never. */
  stepsToTrain95: number | null;
  stepsToTest95: number | null;
  /** The baseline's stepsToTest95 / this run's (null when either is null), and the baseline's name. */
  speedup: number | null;
  baseline: string | null;
  /** The last metrics row. */
  finalStep: number;
  finalTrainAcc: number | null;
  finalTestAcc: number | null;
  /** Global norms ‖θ ⊙ m‖₁ and sqrt(Σ‖W ⊙ M‖²_F) of the last row. */
  finalL1: number | null;
  finalL2: number | null;
  /** Weights kept by the run's mask (all of them for a dense run). */
  kept: number;
  total: number;
  keptFraction: number;
  /**
   * The input-side frequency statistic (reference "entropy") first and last analysed, and when it settled (see {@link
   * settlingStep}).
   */
  entropyInStart: number | null;
  entropyInEnd: number | null;
  entropyInSettled: number | null;
  /** The first analysed step at which it had made half of its change (see {@link halfwayStep}). */
  entropyInHalfway: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The first step from which a statistic stays near its final value: with values v_0 … v_n (in step
 * order), the first i such that |v_j − v_n| ≤ tolerance · |v_0 − v_n| for every j ≥ i. 0 when the
 * statistic never moved; null without points. Used for "the ticket's frequency entropy falls to its
 * final level within the first few thousand steps" (spec E7): the resolution is the analysis interval.
 * @example
 * settlingStep([{ step: 0, value: 3.45 }, { step: 1000, value: 3.3 }, { step: 2000, value: 3.26 }, { step: 3000, value:
 * 3.25 }]); // 2000
 */
export function settlingStep(points: ReadonlyArray<{ step: number; value: number }>, tolerance = 0.1): number | null {
  if (points.length === 0) return null;
  const end = points[points.length - 1]!.value;
  const band = tolerance * Math.abs(points[0]!.value - end);
  let i = points.length - 1;
  while (i > 0 && Math.abs(points[i - 1]!.value - end) <= band) i--;
  return points[i]!.step;
}

/**
 * The first step at which a statistic has made half of its total change: with values v_0 … v_n
 * (in step order), the first i with |v_i − v_0| ≥ |v_n − v_0| / 2. 0 when it never moved; null
 * without points. For the frequency entropy this dates the drop: a grokking ticket's within its first
 * few hundred steps, a dense network's near its grokking step (spec E7).
 * @example
 * halfwayStep([{ step: 0, value: 3.46 }, { step: 10000, value: 3.4 }, { step: 20000, value: 3.25 }, { step: 30000,
 * value: 3.14 }]); // 20000
 */
export function halfwayStep(points: ReadonlyArray<{ step: number; value: number }>): number | null {
  if (points.length === 0) return null;
  const start = points[0]!.value;
  const half = Math.abs(points[points.length - 1]!.value - start) / 2;
  return points.find((p) => Math.abs(p.value - start) >= half)!.step;
}

/** The (step, value) points of one analysis field, skipping rows where it is missing or not finite. */
export function seriesOf(rows: readonly StoredRow[], key: string): Array<{ step: number; value: number }> {
  const out: Array<{ step: number; value: number }> = [];
  for (const r of rows) {
    const v = num(r[key]);
    if (v !== null) out.push({ step: r.step, value: v });
  }
  return out;
}

/**
 * The run speed-ups of `run` are measured against: its group's baseline, else the report's; null for the baseline
 * itself.
 */
export function baselineOf(data: ReportData, run: ReportRun): ReportRun | null {
  const group = data.groups.find((g) => g.runs.includes(run.name));
  const name = group ? group.baseline : data.baseline;
  if (name === null || name === run.name) return null;
  return data.runs.find((r) => r.name === name) ?? null;
}

/** The summary-table line of a run (pure). */
export function runStats(run: ReportRun, baseline: ReportRun | null): RunStats {
  const last = run.rows[run.rows.length - 1]!;
  const t = firstStepReaching(run.rows, 'test_acc', 0.95);
  const baseT = baseline ? firstStepReaching(baseline.rows, 'test_acc', 0.95) : null;
  const total = Object.values(run.shapes).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const stats = run.masks ? maskStats(run.masks) : null;
  const entropy = seriesOf(run.analysis, 'freq_entropy_in');
  return {
    name: run.name,
    stepsToTrain95: firstStepReaching(run.rows, 'train_acc', 0.95),
    stepsToTest95: t,
    speedup: baseline ? speedup(baseT, t) : null,
    baseline: baseline?.name ?? null,
    finalStep: last.step,
    finalTrainAcc: num(last.train_acc),
    finalTestAcc: num(last.test_acc),
    finalL1: num(last.l1_global) ?? num(last.l1mask_norm),
    finalL2: num(last.l2_global) ?? num(last.l2mask_norm),
    kept: stats ? stats.kept : total,
    total,
    keptFraction: stats ? stats.kept / total : 1,
    entropyInStart: entropy[0]?.value ?? null,
    entropyInEnd: entropy[entropy.length - 1]?.value ?? null,
    entropyInSettled: settlingStep(entropy),
    entropyInHalfway: halfwayStep(entropy),
  };
}

/**
 * The token-axis matrices of a run's last weights (rows × p, masks applied), or null for a model without one (MNIST).
 */
export function tokenMatrices(run: ReportRun): TokenAxisMatrices | null {
  return tokenAxisMatrices(run.model, run.weights, run.masks, run.shapes);
}

/**
 * Per-neuron spectrum of one side: each row's share of its non-constant power per frequency, rows sorted by dominant
 * frequency.
 */
export interface NeuronSpectrum {
  p: number;
  /** Frequencies 1..⌊p/2⌋. */
  frequencies: number[];
  /** One entry per row (neuron), sorted by dominant frequency then by its share (descending). */
  neurons: Array<{ row: number; dominant: number | null; shares: number[] }>;
  /**
   * Σ over rows of the amplitude n_f (Parseval-normalised, see `fourierSpectrum`), f = 1..⌊p/2⌋, as shares of their
   * sum.
   */
  summedShares: number[];
}

/**
 * The Fourier picture of a token-axis matrix: per row, share_f = n_f² / Σ_{f' ≥ 1} n_{f'}² (n as in
 * `fourierSpectrum`, frequencies f and p − f folded); the summed spectrum Σ_rows n_f as shares of
 * Σ_{f ≥ 1}. The constant term f = 0 is left out (it is not periodic).
 */
export function neuronSpectrum(matrix: Float64Array, rows: number, p: number): NeuronSpectrum {
  const s = fourierSpectrum(matrix, rows, p);
  const K = Math.floor(p / 2);
  const frequencies = Array.from({ length: K }, (_, i) => i + 1);
  const width = K + 1;
  const neurons = Array.from({ length: rows }, (_, r) => {
    const power = frequencies.map((f) => s.perRow[r * width + f]! ** 2);
    const sum = power.reduce((a, b) => a + b, 0);
    const shares = power.map((x) => (sum > 0 ? x / sum : 0));
    let dominant: number | null = null;
    if (sum > 0) dominant = frequencies[shares.indexOf(Math.max(...shares))]!;
    return { row: r, dominant, shares };
  });
  neurons.sort(
    (a, b) =>
      (a.dominant ?? Infinity) - (b.dominant ?? Infinity) ||
      Math.max(...b.shares) - Math.max(...a.shares) ||
      a.row - b.row,
  );
  const summed = frequencies.map((f) => s.summed[f]!);
  const total = summed.reduce((a, b) => a + b, 0);
  return { p, frequencies, neurons, summedShares: summed.map((x) => (total > 0 ? x / total : 0)) };
}

/** One block of a mask picture: rows [r0, r1) × columns [c0, c1) and the fraction of it kept. */
export interface MaskBlock {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  kept: number;
}

/**
 * A mask (row-major, `shape` [rows, cols]) averaged over blocks so that neither side has more than
 * `maxCells` blocks: the picture keeps its layout at a size an SVG can carry (a 500 × 67 mask has
 * 33 500 entries).
 */
export function maskBlocks(mask: ArrayLike<number>, shape: readonly number[], maxCells = 32): MaskBlock[] {
  const rows = shape[0] ?? 1;
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const br = Math.ceil(rows / maxCells);
  const bc = Math.ceil(cols / maxCells);
  const out: MaskBlock[] = [];
  for (let r0 = 0; r0 < rows; r0 += br) {
    const r1 = Math.min(rows, r0 + br);
    for (let c0 = 0; c0 < cols; c0 += bc) {
      const c1 = Math.min(cols, c0 + bc);
      let kept = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) if (mask[r * cols + c] !== 0) kept++;
      out.push({ r0, r1, c0, c1, kept: kept / ((r1 - r0) * (c1 - c0)) });
    }
  }
  return out;
}

/** The Jaccard overlap of the masks of every pair of masked runs within each group (and among ungrouped runs). */
export function maskOverlaps(data: ReportData): Array<{ a: string; b: string } & TensorOverlap> {
  const sets = [
    ...data.groups.map((g) => g.runs),
    data.runs.filter((r) => !data.groups.some((g) => g.runs.includes(r.name))).map((r) => r.name),
  ];
  const out: Array<{ a: string; b: string } & TensorOverlap> = [];
  for (const names of sets) {
    const masked = names.map((n) => data.runs.find((r) => r.name === n)!).filter((r) => r.masks);
    for (let i = 0; i < masked.length; i++) {
      for (let j = i + 1; j < masked.length; j++) {
        let o: TensorOverlap;
        try {
          o = maskOverlap(masked[i]!.masks!, masked[j]!.masks!);
        } catch {
          continue; // masks of different models: no overlap to speak of
        }
        out.push({
          a: masked[i]!.name,
          b: masked[j]!.name,
          intersection: o.intersection,
          union: o.union,
          jaccard: o.jaccard,
        });
      }
    }
  }
  return out;
}
