import { MetricsError } from './errors.js';
import { trigTable } from './fourier.js';

/**
 * Cross-entropy −log softmax(l)[label] of one row of logits, `classes` entries from `offset`
 * (default: the whole array), in float64 and accurate when the loss is tiny. With m = max_j l_j:
 *
 * - label is a maximum: loss = log1p(Σ_{j ≠ label} exp(l_j − l_label)), exact to float64 precision
 *   however small (a memorised example, loss ~1e-7 … 1e-12, where log(1 + x) would lose all digits);
 * - otherwise: loss = log(Σ_j exp(l_j − m)) − (l_label − m) (≥ log 2 here, no cancellation).
 * @example
 * crossEntropy([25, 0, 0], 0); // 2·e^−25 ≈ 2.7776e-11, to all digits
 */
export function crossEntropy(
  logits: ArrayLike<number>,
  label: number,
  offset = 0,
  classes = logits.length - offset,
): number {
  if (!Number.isInteger(label) || label < 0 || label >= classes)
    throw new MetricsError(`label ${label} is outside 0..${classes - 1}`);
  if (offset < 0 || offset + classes > logits.length)
    throw new MetricsError(`row [${offset}, ${offset + classes}) is outside the ${logits.length} logits`);
  const ll = logits[offset + label]!;
  let m = -Infinity;
  for (let j = 0; j < classes; j++) if (logits[offset + j]! > m) m = logits[offset + j]!;
  if (ll === m) {
    let s = 0;
    for (let j = 0; j < classes; j++) if (j !== label) s += Math.exp(logits[offset + j]! - ll);
    return Math.log1p(s);
  }
  let s = 0;
  for (let j = 0; j < classes; j++) s += Math.exp(logits[offset + j]! - m);
  return Math.log(s) - (ll - m);
}

/** Input of `restrictedLoss`. */
export interface RestrictedLossInput {
  /** Logits of all p² pairs, p² × p row-major: row a·p + b is the pair (a, b) (a outer). */
  logits: Float32Array | Float64Array;
  /** The modulus (= number of classes = vocabulary size). */
  p: number;
  /** The label of each pair, length p². */
  labels: Int32Array | number[];
  /** Length p²: true / 1 for the pairs of the training set. */
  trainPairs: boolean[] | Uint8Array;
  /** The key frequencies k, distinct integers in 1..⌊p/2⌋. */
  keyFrequencies: number[];
}

/** Mean cross-entropy over the training pairs and over all p² pairs (NaN for an empty selection). */
export interface SplitLoss {
  train: number;
  all: number;
}

/** The result of `restrictedLoss`. */
export interface RestrictedLoss {
  /** Loss of the logits as given. */
  full: SplitLoss;
  /** Loss of the logits keeping only the per-class mean and the key-frequency directions. */
  restricted: SplitLoss;
  /** Loss of the logits with the key-frequency directions removed. */
  excluded: SplitLoss;
}

/**
 * Restricted and excluded loss in the style of Nanda et al., "Progress measures for grokking via
 * mechanistic interpretability" (ICLR 2023). For each output class c the logit column L[:, c] is a
 * function on the p² pairs (a, b). The key-frequency directions are
 *
 *   u_k(a, b) = cos(2πk(a + b)/p),  v_k(a, b) = sin(2πk(a + b)/p),  k ∈ keyFrequencies,
 *
 * mutually orthogonal (and orthogonal to the constant) over the p² pairs for distinct k in
 * 1..⌊p/2⌋; ‖u_k‖² = ‖v_k‖² = p²/2, except for k = p/2 (p even), where ‖u_k‖² = p² and v_k = 0
 * (dropped). With P_c = Σ_k (⟨L_c, u_k⟩/‖u_k‖²) u_k + (⟨L_c, v_k⟩/‖v_k‖²) v_k (the orthogonal
 * projection onto their span, over all p² pairs):
 *
 *   restricted logits = mean(L_c) + P_c,   excluded logits = L_c − P_c,
 *
 * and each loss is the mean over the selected pairs of −log softmax(logits)[label] (see
 * `crossEntropy`: float64, log1p when the label is the maximum, so memorised losses ~1e-9 are
 * exact). Projections always use all p² pairs; `train` averages over the training pairs only.
 * A small restricted loss and a large excluded loss on the training pairs say the network computes
 * its answer through the key frequencies.
 * An extra (protocol §7.5): not a metric of the Grokking Tickets paper.
 * Throws a `MetricsError` for inconsistent lengths, labels outside 0..p−1 or bad frequencies.
 * @example
 * const r = restrictedLoss({ logits, p: 67, labels, trainPairs, keyFrequencies: [4, 11, 20, 31] });
 * console.log(r.full.train, r.restricted.train, r.excluded.train);
 */
export function restrictedLoss(input: RestrictedLossInput): RestrictedLoss {
  const { logits, p, labels, trainPairs, keyFrequencies } = input;
  if (!Number.isInteger(p) || p < 2) throw new MetricsError(`p must be an integer >= 2, got ${p}`);
  const N = p * p;
  if (logits.length !== N * p)
    throw new MetricsError(`logits has ${logits.length} entries, expected p² × p = ${N * p}`);
  if (labels.length !== N) throw new MetricsError(`labels has ${labels.length} entries, expected p² = ${N}`);
  if (trainPairs.length !== N)
    throw new MetricsError(`trainPairs has ${trainPairs.length} entries, expected p² = ${N}`);
  for (let i = 0; i < N; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= p) throw new MetricsError(`label ${i} is ${y}, outside 0..${p - 1}`);
  }
  const h = Math.floor(p / 2);
  const seen = new Set<number>();
  for (const k of keyFrequencies) {
    if (!Number.isInteger(k) || k < 1 || k > h) throw new MetricsError(`key frequency ${k} is outside 1..${h}`);
    if (seen.has(k)) throw new MetricsError(`key frequency ${k} is repeated`);
    seen.add(k);
  }
  const { cos, sin } = trigTable(p);

  // Column sums over the p² pairs grouped by s = (a + b) mod p: ⟨L_c, g(a + b)⟩ = Σ_s S_c(s) g(s).
  const S = new Float64Array(p * p); // S[s·p + c]
  const mean = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const s = (a + b) % p;
      const row = (a * p + b) * p;
      for (let c = 0; c < p; c++) S[s * p + c] = S[s * p + c]! + logits[row + c]!;
    }
  }
  for (let s = 0; s < p; s++) for (let c = 0; c < p; c++) mean[c] = mean[c]! + S[s * p + c]!;
  for (let c = 0; c < p; c++) mean[c] = mean[c]! / N;

  // P_c as a function of s: proj[s·p + c]
  const proj = new Float64Array(p * p);
  for (const k of keyFrequencies) {
    let uu = 0;
    let vv = 0;
    for (let s = 0, j = 0; s < p; s++, j = (j + k) % p) {
      uu += cos[j]! * cos[j]!;
      vv += sin[j]! * sin[j]!;
    }
    uu *= p; // each s occurs for p pairs
    vv *= p;
    for (let c = 0; c < p; c++) {
      let lu = 0;
      let lv = 0;
      for (let s = 0, j = 0; s < p; s++, j = (j + k) % p) {
        lu += S[s * p + c]! * cos[j]!;
        lv += S[s * p + c]! * sin[j]!;
      }
      const alpha = lu / uu;
      const beta = vv > 0 ? lv / vv : 0;
      for (let s = 0, j = 0; s < p; s++, j = (j + k) % p)
        proj[s * p + c] = proj[s * p + c]! + (alpha * cos[j]! + beta * sin[j]!);
    }
  }

  const row = new Float64Array(p);
  const sums: Record<'full' | 'restricted' | 'excluded', [number, number]> = {
    full: [0, 0],
    restricted: [0, 0],
    excluded: [0, 0],
  };
  let nTrain = 0;
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      const i = a * p + b;
      const s = (a + b) % p;
      const y = labels[i]!;
      const inTrain = Boolean(trainPairs[i]);
      if (inTrain) nTrain++;
      const full = crossEntropy(logits, y, i * p, p);
      for (let c = 0; c < p; c++) row[c] = mean[c]! + proj[s * p + c]!;
      const restricted = crossEntropy(row, y);
      for (let c = 0; c < p; c++) row[c] = logits[i * p + c]! - proj[s * p + c]!;
      const excluded = crossEntropy(row, y);
      sums.full[1] += full;
      sums.restricted[1] += restricted;
      sums.excluded[1] += excluded;
      if (inTrain) {
        sums.full[0] += full;
        sums.restricted[0] += restricted;
        sums.excluded[0] += excluded;
      }
    }
  }
  const split = (t: number[]): SplitLoss => ({ train: t[0]! / nTrain, all: t[1]! / N });
  return { full: split(sums.full), restricted: split(sums.restricted), excluded: split(sums.excluded) };
}
