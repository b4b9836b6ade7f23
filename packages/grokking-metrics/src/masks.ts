import { MetricsError } from './errors.js';
import type { NamedArrays } from './norms.js';

/** Kept entries of a mask (see `maskStats`). */
export interface KeptCount {
  /** Entries that are non-zero. */
  kept: number;
  /** All entries. */
  total: number;
  /** kept / total, the keep fraction κ = 1 − pruning rate (NaN for an empty tensor). */
  keptFraction: number;
}

/**
 * How much of each mask is kept: an entry counts as kept when it is non-zero. Per tensor and over
 * all tensors together: kept, total and keptFraction = kept / total (the keep fraction κ; the
 * pruning rate is 1 − κ).
 * @example
 * maskStats({ W_E: Float32Array.from([1, 0, 1, 1]), W_U: Float32Array.from([0, 0]) });
 * // { kept: 3, total: 6, keptFraction: 0.5, perTensor: { W_E: { kept: 3, total: 4, keptFraction: 0.75 }, W_U: {...} }
 * }
 */
export function maskStats(masks: NamedArrays): KeptCount & { perTensor: Record<string, KeptCount> } {
  const perTensor: Record<string, KeptCount> = {};
  let kept = 0;
  let total = 0;
  for (const [name, m] of Object.entries(masks)) {
    let k = 0;
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) k++;
    perTensor[name] = { kept: k, total: m.length, keptFraction: k / m.length };
    kept += k;
    total += m.length;
  }
  return { kept, total, keptFraction: kept / total, perTensor };
}

/** Overlap of two masks on one tensor (see `maskOverlap`). */
export interface TensorOverlap {
  /** Entries kept by both, |a ∧ b|. */
  intersection: number;
  /** Entries kept by either, |a ∨ b|. */
  union: number;
  /** intersection / union (1 when both keep nothing). */
  jaccard: number;
}

/**
 * The overlap of two masks (e.g. tickets of two seeds, or a ticket and a pruning-at-initialisation
 * mask) over the tensors both hold: the Jaccard index J = |a ∧ b| / |a ∨ b| of their kept
 * (non-zero) entries, per tensor and over all those tensors together (Σ intersections / Σ unions).
 * When neither mask keeps anything (union 0) J is defined as 1: the two kept sets are equal (both
 * empty). Tensors held by only one of the masks are ignored; throws a `MetricsError` when a shared
 * tensor has different sizes or when the masks share no tensor at all.
 * @example
 * maskOverlap({ W: Float32Array.from([1, 1, 0, 0]) }, { W: Float32Array.from([1, 0, 1, 0]) }).jaccard; // 1/3
 */
export function maskOverlap(
  a: NamedArrays,
  b: NamedArrays,
): TensorOverlap & { perTensor: Record<string, TensorOverlap> } {
  const perTensor: Record<string, TensorOverlap> = {};
  let intersection = 0;
  let union = 0;
  let shared = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name];
    if (!y) continue;
    if (x.length !== y.length)
      throw new MetricsError(`mask "${name}" has ${x.length} entries in the first set and ${y.length} in the second`);
    shared++;
    let i2 = 0;
    let u2 = 0;
    for (let i = 0; i < x.length; i++) {
      const kx = x[i] !== 0;
      const ky = y[i] !== 0;
      if (kx && ky) i2++;
      if (kx || ky) u2++;
    }
    perTensor[name] = { intersection: i2, union: u2, jaccard: u2 === 0 ? 1 : i2 / u2 };
    intersection += i2;
    union += u2;
  }
  if (shared === 0) throw new MetricsError('the two mask sets share no tensor name');
  return { intersection, union, jaccard: union === 0 ? 1 : intersection / union, perTensor };
}
