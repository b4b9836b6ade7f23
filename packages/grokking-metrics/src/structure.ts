import { MetricsError } from './errors.js';
import { maskOverlap } from './masks.js';
import type { NamedArrays } from './norms.js';
import { firstStepReaching } from './runs.js';

/** Float32 0/1 masks by tensor name, as the pruners and run folders store them. */
export type MaskArrays = Record<string, Float32Array>;

function tensorNames(weights: NamedArrays, names: readonly string[] | undefined): string[] {
  const list = names ? [...names] : Object.keys(weights);
  if (list.length === 0) throw new MetricsError('no tensors to prune');
  for (const name of list) if (!weights[name]) throw new MetricsError(`no weights named "${name}"`);
  return list;
}

/**
 * The grokking ticket's mask of a set of weights: global magnitude pruning at `pruningRate` (the fraction
 * removed), the same rule as the project's `magnitude` pruner with `buildMask` (one-shot, global scope):
 * with N the number of weights over all the tensors and κ = 1 − pruningRate, k = ⌊(1 − κ)·N⌋ weights go;
 * τ is the k-th smallest |w| over all tensors together (float64), and a weight is kept iff |w| > τ (ties at
 * τ are pruned, as in the reference's `score > kthvalue(score, k)`). k < 1 keeps everything.
 * `names` chooses the tensors (default: all of `weights`); the result holds only those.
 * @example
 * magnitudeMask({ W: Float32Array.from([0.1, -3, 2, 0.5]), V: Float32Array.from([-1, 0]) }, 0.5);
 * // { W: [0, 1, 1, 0], V: [1, 0] }: k = 3 of 6 go (|w| 0, 0.1, 0.5), τ = 0.5
 */
export function magnitudeMask(weights: NamedArrays, pruningRate: number, names?: readonly string[]): MaskArrays {
  if (typeof pruningRate !== 'number' || !(pruningRate >= 0 && pruningRate < 1))
    throw new MetricsError(`pruning rate must be in [0, 1), got ${pruningRate}`);
  const list = tensorNames(weights, names);
  const keepFraction = 1 - pruningRate;
  const total = list.reduce((n, name) => n + weights[name]!.length, 0);
  // The same float64 expression as the pruners' thresholdScores, so that k rounds the same way.
  const k = Math.floor((1 - keepFraction) * total);
  const out: MaskArrays = {};
  if (k < 1) {
    for (const name of list) out[name] = new Float32Array(weights[name]!.length).fill(1);
    return out;
  }
  const all = new Float64Array(total);
  let offset = 0;
  for (const name of list) {
    const w = weights[name]!;
    for (let i = 0; i < w.length; i++) {
      const v = w[i]!;
      if (!Number.isFinite(v)) throw new MetricsError(`weight "${name}"[${i}] is not finite (${v})`);
      all[offset + i] = Math.abs(v);
    }
    offset += w.length;
  }
  const tau = all.slice().sort()[k - 1]!;
  offset = 0;
  for (const name of list) {
    const n = weights[name]!.length;
    const m = new Float32Array(n);
    for (let i = 0; i < n; i++) m[i] = all[offset + i]! > tau ? 1 : 0;
    out[name] = m;
    offset += n;
  }
  return out;
}

/** Jaccard distance of two masks, whole network and per tensor (see {@link maskDistance}). */
export interface MaskDistance {
  /** 1 − J over all shared tensors together, J = Σ|a ∧ b| / Σ|a ∨ b|. */
  distance: number;
  /** 1 − J of each shared tensor. */
  perTensor: Record<string, number>;
}

/**
 * The Jaccard distance d_J(a, b) = 1 − |a ∧ b| / |a ∨ b| of the kept (non-zero) entries of two masks
 * (the reference's `jaccard_distance`, protocol §3.3), per tensor and over all shared tensors together
 * (the reference notebooks' concatenated whole-network mask). 0 for identical masks, 1 for disjoint ones;
 * two masks that keep nothing are at distance 0. Built on {@link maskOverlap}, whose rules it shares
 * (tensors held by one mask only are ignored; a size mismatch or no shared tensor throws).
 * @example
 * maskDistance({ W: Float32Array.from([1, 1, 0, 0]) }, { W: Float32Array.from([1, 0, 1, 0]) }).distance; // 2/3
 */
export function maskDistance(a: NamedArrays, b: NamedArrays): MaskDistance {
  const o = maskOverlap(a, b);
  return {
    distance: 1 - o.jaccard,
    perTensor: Object.fromEntries(Object.entries(o.perTensor).map(([name, t]) => [name, 1 - t.jaccard])),
  };
}

/**
 * The expected Jaccard distance of two independent uniformly random masks that each keep a fraction κ of
 * N weights, for large N: E|a ∧ b| = κ²N and E|a ∨ b| = (2κ − κ²)N, so d = 1 − κ / (2 − κ) (spec E4:
 * 0.75 at κ = 0.4). The reference line of a Jaccard-distance plot.
 * @example
 * randomMaskDistance(0.4); // 0.75
 */
export function randomMaskDistance(keptFraction: number): number {
  if (!(keptFraction > 0 && keptFraction <= 1))
    throw new MetricsError(`kept fraction must be in (0, 1], got ${keptFraction}`);
  return 1 - keptFraction / (2 - keptFraction);
}

/** Options of {@link weightSparsity}. */
export interface WeightSparsityOptions {
  /** k in ε = k · max|w| (default 0.2, the value of the reference's `density.ipynb`; its configs use 0.1). */
  relativeThreshold?: number;
  /** Masks to apply first (W ⊙ M; a pruned weight is 0, so it counts as small). Default: none. */
  masks?: NamedArrays | null;
  /** The tensors (default: all of `weights`). */
  names?: readonly string[];
}

/** Result of {@link weightSparsity}. */
export interface WeightSparsity {
  /** #{i : |w_i| < ε} / N over all the tensors together. */
  sparsity: number;
  /** ε = k · max|w| (max over all the tensors together). */
  threshold: number;
  /** max |w| over all the tensors. */
  maxAbs: number;
  /** k. */
  relativeThreshold: number;
  /** Weights below ε, and all weights. */
  below: number;
  total: number;
  /** The fraction of each tensor's weights below the global ε. */
  perTensor: Record<string, number>;
}

/**
 * The weight sparsity of a dense network as the reference measures it (spec E11 part A, `density.ipynb`,
 * the weights-only `get_weight_sparsity` of `dense:utils.py`): with every weight of the chosen tensors
 * together (N of them) and ε = k · max_i |w_i| (one global maximum, k = 0.2 by default),
 *
 *   sparsity = #{i : |w_i| < ε} / N,
 *
 * the fraction of weights that are small next to the largest one. It is 0 when every weight is within a
 * factor k of the largest, and near 1 when a few weights dominate. (The reference's later version also
 * counted its mask buffers, scores and biases; that is a bug, protocol §5.8, and not copied.) With `masks`,
 * the weights are W ⊙ M. All zero weights give ε = 0 and sparsity 0 (nothing is below 0).
 * @example
 * weightSparsity({ W: Float32Array.from([1, -0.5, 0.1, 0]), V: Float32Array.from([0.3, -0.19]) }).sparsity;
 * // ε = 0.2 · 1 = 0.2; |w| < 0.2: 0.1, 0, 0.19 → 3 / 6 = 0.5
 */
export function weightSparsity(weights: NamedArrays, options: WeightSparsityOptions = {}): WeightSparsity {
  const k = options.relativeThreshold ?? 0.2;
  if (typeof k !== 'number' || !(k >= 0 && k <= 1))
    throw new MetricsError(`relative threshold must be in [0, 1], got ${k}`);
  const list = tensorNames(weights, options.names);
  const masks = options.masks ?? null;
  const value = (name: string): ((i: number) => number) => {
    const w = weights[name]!;
    const m = masks?.[name];
    if (m && m.length !== w.length)
      throw new MetricsError(`mask "${name}" has ${m.length} entries but its weights have ${w.length}`);
    return m ? (i) => Math.abs(w[i]! * m[i]!) : (i) => Math.abs(w[i]!);
  };
  let maxAbs = 0;
  let total = 0;
  for (const name of list) {
    const at = value(name);
    const n = weights[name]!.length;
    for (let i = 0; i < n; i++) {
      const v = at(i);
      if (!Number.isFinite(v)) throw new MetricsError(`weight "${name}"[${i}] is not finite`);
      if (v > maxAbs) maxAbs = v;
    }
    total += n;
  }
  const threshold = k * maxAbs;
  let below = 0;
  const perTensor: Record<string, number> = {};
  for (const name of list) {
    const at = value(name);
    const n = weights[name]!.length;
    let b = 0;
    for (let i = 0; i < n; i++) if (at(i) < threshold) b++;
    perTensor[name] = n === 0 ? Number.NaN : b / n;
    below += b;
  }
  return {
    sparsity: total === 0 ? Number.NaN : below / total,
    threshold,
    maxAbs,
    relativeThreshold: k,
    below,
    total,
    perTensor,
  };
}

/** One checkpoint's structure (see {@link structureRow}). */
export interface StructureRow {
  step: number;
  /** Fraction of the weights its ticket keeps (κ, up to ties). */
  keptFraction: number;
  /** d_J(ticket at this step, final ticket), over the whole network and per tensor. */
  distanceToFinal: number;
  distanceToFinalPerTensor: Record<string, number>;
  /** d_J(ticket at the previous checkpoint, ticket here); null on the first checkpoint. */
  distanceFromPrevious: number | null;
  distanceFromPreviousPerTensor: Record<string, number> | null;
  /** The previous checkpoint's step (null on the first). */
  previousStep: number | null;
  /** {@link weightSparsity} of the weights: sparsity, per tensor, ε and max|w|. */
  sparsity: number;
  sparsityPerTensor: Record<string, number>;
  sparsityThreshold: number;
  maxAbsWeight: number;
}

/**
 * One row of the structural dynamics of a run (spec E4, E11 part A): given a checkpoint's weights and the
 * ticket made from them (`mask`, e.g. {@link magnitudeMask}), the ticket of the previous checkpoint (or
 * null) and the final ticket, the Jaccard distances to the final ticket and from the previous ticket
 * (whole network and per tensor) and the weight sparsity. Lets a caller stream checkpoints one at a time;
 * {@link structuralDynamics} does the whole list.
 * @example
 * const final = magnitudeMask(finalWeights, 0.6);
 * const mask = magnitudeMask(weights, 0.6);
 * structureRow({ step: 2000, weights, mask, previous: null, final }).distanceToFinal;
 */
export function structureRow(input: {
  step: number;
  weights: NamedArrays;
  mask: NamedArrays;
  previous: { step: number; mask: NamedArrays } | null;
  final: NamedArrays;
  sparsity?: Omit<WeightSparsityOptions, 'names'>;
}): StructureRow {
  const names = Object.keys(input.mask);
  const toFinal = maskDistance(input.mask, input.final);
  const fromPrevious = input.previous ? maskDistance(input.previous.mask, input.mask) : null;
  const s = weightSparsity(input.weights, { ...input.sparsity, names });
  let kept = 0;
  let total = 0;
  for (const name of names) {
    const m = input.mask[name]!;
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) kept++;
    total += m.length;
  }
  return {
    step: input.step,
    keptFraction: kept / total,
    distanceToFinal: toFinal.distance,
    distanceToFinalPerTensor: toFinal.perTensor,
    distanceFromPrevious: fromPrevious ? fromPrevious.distance : null,
    distanceFromPreviousPerTensor: fromPrevious ? fromPrevious.perTensor : null,
    previousStep: input.previous ? input.previous.step : null,
    sparsity: s.sparsity,
    sparsityPerTensor: s.perTensor,
    sparsityThreshold: s.threshold,
    maxAbsWeight: s.maxAbs,
  };
}

/** Options of {@link structuralDynamics}. */
export interface StructuralDynamicsOptions {
  /** Fraction of weights each ticket removes (the grokking ticket's default is 0.6). */
  pruningRate: number;
  /** The prunable tensors (default: all of the first checkpoint's weights). */
  names?: readonly string[];
  /** The reference ticket; default: the magnitude ticket of the last checkpoint (the final ticket). */
  final?: NamedArrays;
  /** Options of the sparsity measure (k, masks). */
  sparsity?: Omit<WeightSparsityOptions, 'names'>;
}

/**
 * The structural dynamics of a run from its checkpoints (spec E4, E11 part A, R2): at each checkpoint the
 * ticket is its global magnitude mask at `pruningRate` ({@link magnitudeMask}), and each row gives its
 * Jaccard distance to the final ticket (the last checkpoint's, unless `final` is given) and to the
 * previous checkpoint's ticket, per tensor and over the whole network, and the weight sparsity
 * ({@link weightSparsity}). Checkpoints must be in increasing step order.
 * @example
 * const rows = structuralDynamics(checkpoints, { pruningRate: 0.6 }); // checkpoints: [{ step, weights }]
 * rows.map((r) => [r.step, r.distanceToFinal, r.distanceFromPrevious, r.sparsity]);
 */
export function structuralDynamics(
  checkpoints: ReadonlyArray<{ step: number; weights: NamedArrays }>,
  options: StructuralDynamicsOptions,
): StructureRow[] {
  if (checkpoints.length === 0) return [];
  checkpoints.forEach((c, i) => {
    if (i > 0 && !(c.step > checkpoints[i - 1]!.step))
      throw new MetricsError(
        `checkpoints must be in increasing step order (step ${c.step} after ${checkpoints[i - 1]!.step})`,
      );
  });
  const names = options.names ?? Object.keys(checkpoints[0]!.weights);
  const final =
    options.final ?? magnitudeMask(checkpoints[checkpoints.length - 1]!.weights, options.pruningRate, names);
  const rows: StructureRow[] = [];
  let previous: { step: number; mask: NamedArrays } | null = null;
  for (const c of checkpoints) {
    const mask = magnitudeMask(c.weights, options.pruningRate, names);
    rows.push(structureRow({ step: c.step, weights: c.weights, mask, previous, final, sparsity: options.sparsity }));
    previous = { step: c.step, mask };
  }
  return rows;
}

/** Options of {@link structuralChange}. */
export interface StructuralChangeOptions {
  /**
   * Only intervals that start at or after this step count. Default `'memorization'`: the first logged step
   * with train accuracy ≥ 0.99 (all intervals when it is never reached, or when the rows have no
   * train_acc); a number gives the step.
   */
  after?: number | 'memorization';
}

/** One interval between consecutive checkpoints. */
export interface StructuralInterval {
  from: number;
  to: number;
  /** d_J of the two tickets (whole network). */
  distance: number;
  /** distance per 1 000 steps: distance / (to − from) · 1000. */
  ratePer1k: number;
  /** Test accuracy at `to` minus test accuracy at `from` (the last logged row at or before each), or null. */
  testAccGain: number | null;
}

/** Result of {@link structuralChange}. */
export interface StructuralChange {
  /** The step intervals start from (see the `after` option), and the rule that gave it. */
  after: number;
  afterRule: 'memorization' | 'given' | 'all';
  /** The interval with the largest change rate (ratePer1k; earliest on a tie), or null without one. */
  largestChange: StructuralInterval | null;
  /** First logged steps with test accuracy ≥ 0.5 and ≥ 0.95 (null: never), and train accuracy ≥ 0.99. */
  testAcc50: number | null;
  testAcc95: number | null;
  memorized: number | null;
  /** Midpoint of the largest change minus testAcc50 / testAcc95 (negative: the change comes first). */
  lag50: number | null;
  lag95: number | null;
  /** Whether testAcc50 / testAcc95 fall in the largest change's interval (from, to]. */
  contains50: boolean;
  contains95: boolean;
  /**
   * Pearson correlation, over the counted intervals, of the change rate (ratePer1k) and the test accuracy
   * gain per 1 000 steps; null with fewer than 3 intervals or a constant series.
   */
  correlation: number | null;
  /** Every counted interval, in step order. */
  intervals: StructuralInterval[];
}

function pearson(x: number[], y: number[]): number | null {
  const n = x.length;
  if (n < 3) return null;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Test accuracy of the last row at or before `step` (rows in step order), or null. */
function testAccAt(rows: ReadonlyArray<{ step: number }>, step: number): number | null {
  let v: number | null = null;
  for (const row of rows) {
    if (row.step > step) break;
    const a = (row as Record<string, unknown>).test_acc;
    v = typeof a === 'number' ? a : null;
  }
  return v;
}

/**
 * Whether a run's structural change coincides with its generalisation (the v3 claim "rapid structural
 * changes that coincide with improvements in generalization", spec E4): from the structure rows
 * ({@link structuralDynamics}, in step order) and the run's metrics rows (`step`, `train_acc`, `test_acc`,
 * in step order), the interval between consecutive checkpoints with the largest rate of change of the
 * ticket, d_J(ticket_i, ticket_{i+1}) / (step_{i+1} − step_i) (per 1 000 steps, so that uneven checkpoint
 * spacing does not favour long intervals), set next to the first steps at which test accuracy reaches
 * 50 % and 95 %. Only intervals starting after memorisation count by default, because the change from
 * θ0 to the memorising network is a different event. Also the correlation over intervals of the change
 * rate and the test-accuracy gain per 1 000 steps. The resolution is the checkpoint spacing: finer
 * checkpoints give a finer answer.
 * @example
 * const c = structuralChange(structureRows, metricsRows);
 * console.log(c.largestChange, c.testAcc50, c.testAcc95, c.lag50);
 */
export function structuralChange(
  rows: ReadonlyArray<Pick<StructureRow, 'step' | 'distanceFromPrevious' | 'previousStep'>>,
  metrics: ReadonlyArray<{ step: number }>,
  options: StructuralChangeOptions = {},
): StructuralChange {
  const memorized = firstStepReaching(metrics, 'train_acc', 0.99);
  const testAcc50 = firstStepReaching(metrics, 'test_acc', 0.5);
  const testAcc95 = firstStepReaching(metrics, 'test_acc', 0.95);
  let after = 0;
  let afterRule: StructuralChange['afterRule'] = 'all';
  const opt = options.after ?? 'memorization';
  if (typeof opt === 'number') {
    if (!Number.isFinite(opt)) throw new MetricsError(`after must be a finite step or 'memorization', got ${opt}`);
    after = opt;
    afterRule = 'given';
  } else if (opt !== 'memorization') {
    throw new MetricsError(`after must be a finite step or 'memorization', got ${JSON.stringify(opt)}`);
  } else if (memorized !== null) {
    after = memorized;
    afterRule = 'memorization';
  }
  const intervals: StructuralInterval[] = [];
  for (const row of rows) {
    if (row.distanceFromPrevious === null || row.previousStep === null || row.previousStep < after) continue;
    const span = row.step - row.previousStep;
    if (!(span > 0)) throw new MetricsError(`structure rows must be in increasing step order (step ${row.step})`);
    const a = testAccAt(metrics, row.previousStep);
    const b = testAccAt(metrics, row.step);
    intervals.push({
      from: row.previousStep,
      to: row.step,
      distance: row.distanceFromPrevious,
      ratePer1k: (row.distanceFromPrevious / span) * 1000,
      testAccGain: a !== null && b !== null ? b - a : null,
    });
  }
  let largestChange: StructuralInterval | null = null;
  for (const i of intervals) if (!largestChange || i.ratePer1k > largestChange.ratePer1k) largestChange = i;
  const mid = largestChange ? (largestChange.from + largestChange.to) / 2 : null;
  const inside = (t: number | null) =>
    largestChange !== null && t !== null && t > largestChange.from && t <= largestChange.to;
  const paired = intervals.filter((i) => i.testAccGain !== null);
  return {
    after,
    afterRule,
    largestChange,
    testAcc50,
    testAcc95,
    memorized,
    lag50: mid !== null && testAcc50 !== null ? mid - testAcc50 : null,
    lag95: mid !== null && testAcc95 !== null ? mid - testAcc95 : null,
    contains50: inside(testAcc50),
    contains95: inside(testAcc95),
    correlation: pearson(
      paired.map((i) => i.ratePer1k),
      paired.map((i) => (i.testAccGain! / (i.to - i.from)) * 1000),
    ),
    intervals,
  };
}
