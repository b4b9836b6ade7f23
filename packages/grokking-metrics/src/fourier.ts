import { MetricsError } from './errors.js';
import type { NamedArrays } from './norms.js';

// ---------------------------------------------------------------------------------------------
// Shared DFT machinery (internal)

const TRIG = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/**
 * cos(2πj/p) and sin(2πj/p) for j = 0..p−1, computed once per p. Quarter turns (4j a multiple of
 * p) are set exactly, so e.g. the Nyquist direction sin(πs) of an even p is exactly 0.
 */
export function trigTable(p: number): { cos: Float64Array; sin: Float64Array } {
  let t = TRIG.get(p);
  if (!t) {
    const cos = new Float64Array(p);
    const sin = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      if ((4 * j) % p === 0) {
        const q = (4 * j) / p; // quarter turns: 0, 1, 2, 3
        cos[j] = [1, 0, -1, 0][q]!;
        sin[j] = [0, 1, 0, -1][q]!;
      } else {
        cos[j] = Math.cos((2 * Math.PI * j) / p);
        sin[j] = Math.sin((2 * Math.PI * j) / p);
      }
    }
    t = { cos, sin };
    TRIG.set(p, t);
  }
  return t;
}

function checkMatrix(matrix: ArrayLike<number>, rows: number, p: number): void {
  if (!Number.isInteger(p) || p < 2) throw new MetricsError(`p must be an integer >= 2, got ${p}`);
  if (!Number.isInteger(rows) || rows < 0) throw new MetricsError(`rows must be a non-negative integer, got ${rows}`);
  if (matrix.length !== rows * p)
    throw new MetricsError(`matrix has ${matrix.length} entries, expected rows × p = ${rows} × ${p} = ${rows * p}`);
}

/**
 * |Y_f| of every row for f = 0..⌊p/2⌋ (rows × (⌊p/2⌋ + 1), row-major), Y_f = Σ_x y_x e^{−2πi f x/p},
 * by a direct DFT in float64 with tabulated cos/sin.
 */
function dftMagnitudes(matrix: ArrayLike<number>, rows: number, p: number): Float64Array {
  const h = Math.floor(p / 2);
  const { cos, sin } = trigTable(p);
  const out = new Float64Array(rows * (h + 1));
  const y = new Float64Array(p);
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < p; x++) y[x] = matrix[r * p + x]!;
    for (let f = 0; f <= h; f++) {
      let re = 0;
      let im = 0;
      let j = 0; // (f·x) mod p
      for (let x = 0; x < p; x++) {
        re += y[x]! * cos[j]!;
        im -= y[x]! * sin[j]!;
        j += f;
        if (j >= p) j -= p;
      }
      out[r * (h + 1) + f] = Math.sqrt(re * re + im * im);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Effective MLP weights

/** The MLP's effective input and output weights over the tokens (see `mlpEffectiveWeights`). */
export interface EffectiveWeights {
  /**
   * A = (W_in ⊙ M_in)(W_E ⊙ M_E), rows × cols = dModel × vocab, row-major: row i is neuron i's input weight over the
   * tokens.
   */
  A: Float64Array;
  /** B = (W_out ⊙ M_out)ᵀ(W_U ⊙ M_U), dModel × vocab, row-major: row i is neuron i's output weight over the tokens. */
  B: Float64Array;
  /** dModel (hidden neurons). */
  rows: number;
  /** vocab (= p, the modulus). */
  cols: number;
}

function masked(
  weights: NamedArrays,
  masks: NamedArrays | null,
  name: string,
  size: number,
  shape: string,
): Float64Array {
  const w = weights[name];
  if (!w) throw new MetricsError(`no weights named "${name}"`);
  if (w.length !== size) throw new MetricsError(`"${name}" has ${w.length} entries, expected ${shape} = ${size}`);
  const m = masks?.[name];
  if (m && m.length !== size) throw new MetricsError(`mask "${name}" has ${m.length} entries, expected ${size}`);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = m ? w[i]! * m[i]! : w[i]!;
  return out;
}

/**
 * The effective weights of the modular-arithmetic MLP over the token axis (protocol §3.1, §7.4):
 * A = (W_in ⊙ M_in)(W_E ⊙ M_E) and B = (W_out ⊙ M_out)ᵀ(W_U ⊙ M_U), both dModel × vocab, so that
 * logits(a, b) = Bᵀ ReLU(A[:, a] + A[:, b]). Layouts (row-major, PyTorch's): W_E [dEmb, vocab],
 * W_in [dModel, dEmb], W_out [dEmb, dModel], W_U [dEmb, vocab]. `masks` null, or a tensor without a
 * mask, means unmasked. Products are in float64.
 *
 * (For the Transformer, analyse W_E [dModel, vocab] and W_U [dModel, vocab] directly: every
 * Fourier function here takes any rows × p matrix.)
 * @example
 * const { A, B, rows, cols } = mlpEffectiveWeights(weights, masks, { vocab: 67, dEmb: 500, dModel: 48 });
 * frequencyEntropy(A, rows, cols).spectralConcentration;
 */
export function mlpEffectiveWeights(
  weights: NamedArrays,
  masks: NamedArrays | null,
  dims: { vocab: number; dEmb: number; dModel: number },
): EffectiveWeights {
  const { vocab: V, dEmb: D, dModel: H } = dims;
  for (const [k, v] of Object.entries(dims))
    if (!Number.isInteger(v) || v < 1) throw new MetricsError(`dims.${k} must be a positive integer, got ${v}`);
  const WE = masked(weights, masks, 'W_E', D * V, `dEmb × vocab`);
  const Win = masked(weights, masks, 'W_in', H * D, `dModel × dEmb`);
  const Wout = masked(weights, masks, 'W_out', D * H, `dEmb × dModel`);
  const WU = masked(weights, masks, 'W_U', D * V, `dEmb × vocab`);
  const WoutT = new Float64Array(H * D);
  for (let e = 0; e < D; e++) for (let i = 0; i < H; i++) WoutT[i * D + e] = Wout[e * H + i]!;
  return { A: matmul(Win, WE, H, D, V), B: matmul(WoutT, WU, H, D, V), rows: H, cols: V };
}

/**
 * X (n × k) times Y (k × m), row-major, float64; four rows of Y per pass over a row of the output (2.5x faster than
 * one).
 */
function matmul(X: Float64Array, Y: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    const xr = i * k;
    let e = 0;
    for (; e + 3 < k; e += 4) {
      const a0 = X[xr + e]!;
      const a1 = X[xr + e + 1]!;
      const a2 = X[xr + e + 2]!;
      const a3 = X[xr + e + 3]!;
      const s0 = e * m;
      const s1 = s0 + m;
      const s2 = s1 + m;
      const s3 = s2 + m;
      for (let v = 0; v < m; v++)
        out[row + v] = out[row + v]! + (a0 * Y[s0 + v]! + a1 * Y[s1 + v]! + a2 * Y[s2 + v]! + a3 * Y[s3 + v]!);
    }
    for (; e < k; e++) {
      const a = X[xr + e]!;
      const src = e * m;
      for (let v = 0; v < m; v++) out[row + v] = out[row + v]! + a * Y[src + v]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spectrum

/** The Fourier spectrum over the token axis (see `fourierSpectrum`). */
export interface FourierSpectrum {
  /** 0, 1, ..., ⌊p/2⌋. */
  frequencies: number[];
  /** n_f of every row, rows × (⌊p/2⌋ + 1), row-major. */
  perRow: Float64Array;
  /** Σ over rows of n_f, per frequency. */
  summed: Float64Array;
  /** Σ over rows of n_f², per frequency (the power; Σ_f summedPower[f] = ‖matrix‖²_F). */
  summedPower: Float64Array;
}

/**
 * The Parseval-normalised Fourier amplitude of every row of a rows × p matrix (row-major; row r is
 * a function y of the token x = 0..p−1), for the frequencies f = 0..⌊p/2⌋:
 *
 *   Y_f = Σ_x y_x e^{−2πi f x/p},
 *   n_0 = |Y_0|/√p,  n_f = √(2/p)·|Y_f| for 1 ≤ f < p/2,  n_{p/2} = |Y_{p/2}|/√p (p even),
 *
 * so that Σ_f n_f² = ‖y‖² (the frequencies f and p − f are folded together). `summed[f]` = Σ_rows n_f
 * and `summedPower[f]` = Σ_rows n_f². A direct O(rows·p²) DFT in float64.
 * @example
 * const p = 7;
 * const row = Array.from({ length: p }, (_, x) => Math.cos((2 * Math.PI * 2 * x) / p));
 * fourierSpectrum(row, 1, p).perRow; // ≈ [0, 0, √(7/2), 0]: all of ‖y‖² = 7/2 at f = 2
 */
export function fourierSpectrum(matrix: ArrayLike<number>, rows: number, p: number): FourierSpectrum {
  checkMatrix(matrix, rows, p);
  const h = Math.floor(p / 2);
  const w = h + 1;
  const perRow = dftMagnitudes(matrix, rows, p);
  const scale = new Float64Array(w);
  for (let f = 0; f <= h; f++) scale[f] = f === 0 || 2 * f === p ? 1 / Math.sqrt(p) : Math.sqrt(2 / p);
  const summed = new Float64Array(w);
  const summedPower = new Float64Array(w);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < w; f++) {
      const n = perRow[r * w + f]! * scale[f]!;
      perRow[r * w + f] = n;
      summed[f] = summed[f]! + n;
      summedPower[f] = summedPower[f]! + n * n;
    }
  }
  return { frequencies: Array.from({ length: w }, (_, f) => f), perRow, summed, summedPower };
}

// ---------------------------------------------------------------------------------------------
// Frequency entropy

/** Which frequencies `frequencyEntropy` uses. */
export interface FrequencyEntropyOptions {
  /**
   * `'reference'` (default): f = 1..⌊p/2⌋ − 1, the reference code's indices (1..32 for p = 67; it
   * drops f = 33). `'all'`: f = 1..⌊p/2⌋.
   */
  frequencies?: 'reference' | 'all';
}

/** The result of `frequencyEntropy`. */
export interface FrequencyEntropy {
  /** Mean over kept rows of logsumexp(q) − Σ_f q_f² (the reference's "entropy"; NaN if no row is kept). */
  spectralConcentration: number;
  /** Mean over kept rows of the Shannon entropy −Σ_f q_f ln q_f, in nats (NaN if no row is kept). */
  shannon: number;
  /** Rows kept (amplitude sum > 0). */
  neurons: number;
  /** Rows skipped because their amplitude sum is exactly 0 (fully pruned neurons). */
  skipped: number;
}

/**
 * How periodic the rows of a rows × p matrix are (protocol §7.4, the reference's `vis_activate.py`).
 * For each row y: amplitudes |Y_f| (Y_f = Σ_x y_x e^{−2πi f x/p}) for f = 1..⌊p/2⌋ − 1
 * (`'reference'`, the default: f = 1..32 for p = 67) or f = 1..⌊p/2⌋ (`'all'`); the distribution
 * q = amplitudes / Σ amplitudes (any scale of the amplitudes cancels here, so raw |Y_f| are used,
 * as in the reference, Nyquist term included). Rows whose amplitude sum is exactly 0 are skipped.
 * Over the K frequencies and the kept rows:
 *
 * - spectralConcentration = mean of H̃(q) = −Σ_f q_f log softmax(q)_f = logsumexp(q) − Σ_f q_f²,
 *   the statistic the reference reports as "entropy". It is NOT a Shannon entropy but a
 *   cross-entropy of q against softmax(q) (the code passes q as both logits and soft target of a
 *   cross-entropy loss). It ranges from ln(K − 1 + e) − 1 (one frequency; 2.5180 for K = 32) to
 *   ln K (flat spectrum; 3.4657 for K = 32), ≈ 3.4576 for Gaussian random rows with p = 67.
 * - shannon = mean of H(q) = −Σ_f q_f ln q_f (0·ln 0 = 0): 0 for one frequency, ln K for flat,
 *   ≈ 3.33 for Gaussian random rows with p = 67.
 *
 * Only exactly-zero rows are skipped, as in the reference: a constant non-zero row has amplitudes
 * at rounding level (~1e-15 of its norm), and its q is noise.
 * @example
 * const { A, rows, cols } = mlpEffectiveWeights(weights, masks, { vocab: 67, dEmb: 500, dModel: 48 });
 * const e = frequencyEntropy(A, rows, cols);
 * console.log(e.spectralConcentration, e.shannon); // ≈ 3.4576, ≈ 3.33 at random initialisation
 */
export function frequencyEntropy(
  matrix: ArrayLike<number>,
  rows: number,
  p: number,
  options: FrequencyEntropyOptions = {},
): FrequencyEntropy {
  checkMatrix(matrix, rows, p);
  const which = options.frequencies ?? 'reference';
  if (which !== 'reference' && which !== 'all')
    throw new MetricsError(`options.frequencies must be 'reference' or 'all', got ${String(which)}`);
  const h = Math.floor(p / 2);
  const hi = which === 'reference' ? h - 1 : h;
  if (hi < 1) throw new MetricsError(`no frequencies to use for p = ${p} with '${which}' (f = 1..${hi})`);
  const K = hi;
  const amp = dftMagnitudes(matrix, rows, p);
  const q = new Float64Array(K);
  let neurons = 0;
  let skipped = 0;
  let sumConc = 0;
  let sumShannon = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * (h + 1);
    let total = 0;
    for (let k = 0; k < K; k++) total += amp[base + 1 + k]!;
    if (total === 0) {
      skipped++;
      continue;
    }
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      q[k] = amp[base + 1 + k]! / total;
      if (q[k]! > max) max = q[k]!;
    }
    let se = 0;
    let sq = 0;
    let ent = 0;
    for (let k = 0; k < K; k++) {
      const v = q[k]!;
      se += Math.exp(v - max);
      sq += v * v;
      if (v > 0) ent -= v * Math.log(v);
    }
    sumConc += max + Math.log(se) - sq;
    sumShannon += ent;
    neurons++;
  }
  return { spectralConcentration: sumConc / neurons, shannon: sumShannon / neurons, neurons, skipped };
}

// ---------------------------------------------------------------------------------------------
// Gini

/**
 * The Gini coefficient of non-negative values (Hurley & Rickard, "Comparing measures of sparsity",
 * 2009): with x_(1) ≤ ... ≤ x_(n) sorted ascending,
 *
 *   G = Σ_{i=1..n} (2i − n − 1) x_(i) / (n Σ_i x_i),
 *
 * 0 when all values are equal, (n − 1)/n when exactly one is non-zero; scale-invariant. All zero (or
 * no values) is 0/0 and gives NaN. Throws a `MetricsError` for a negative or non-finite value.
 * @example
 * gini([1, 1, 1, 1]); // 0
 * gini([0, 0, 0, 5]); // 0.75
 */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  const x = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0) || v === Infinity) throw new MetricsError(`gini needs finite values >= 0; value ${i} is ${v}`);
    x[i] = v;
    total += v;
  }
  if (total === 0) return NaN;
  x.sort();
  let s = 0;
  for (let i = 0; i < n; i++) s += (2 * (i + 1) - n - 1) * x[i]!;
  return s / (n * total);
}

/**
 * The Gini coefficient of a spectrum's `summed` amplitudes over the frequencies f = 1..⌊p/2⌋: how
 * concentrated the matrix's Fourier amplitude is on few frequencies (near 0 for noise, near
 * (K − 1)/K when one frequency carries everything, K = ⌊p/2⌋). The constant term f = 0 is excluded
 * because it is not a periodic component: it is the mean of a row over the tokens, a per-neuron
 * offset shared by every input (like a bias), which says nothing about which frequencies a neuron
 * uses; the reference's entropy drops it for the same reason.
 * An extra (protocol §7.5): not a metric of the Grokking Tickets paper.
 * @example
 * spectrumGini(fourierSpectrum(A, rows, cols));
 */
export function spectrumGini(spectrum: Pick<FourierSpectrum, 'summed'>): number {
  return gini(spectrum.summed.subarray(1));
}

// ---------------------------------------------------------------------------------------------
// Key frequencies

/** Options of `keyFrequencies`. */
export interface KeyFrequencyOptions {
  /** Smallest share of a row's non-constant power its best frequency must hold to be assigned (default 0.85). */
  threshold?: number;
}

/** The result of `keyFrequencies`. */
export interface KeyFrequencies {
  /**
   * Per row: its frequency (null: unassigned) and the share of its non-constant power at its best frequency (0 if it
   * has none).
   */
  perRow: Array<{ frequency: number | null; share: number }>;
  /**
   * The distinct assigned frequencies with their number of rows, sorted by rows (descending) then frequency
   * (ascending).
   */
  keyFrequencies: Array<{ frequency: number; neurons: number }>;
  /** Rows assigned a frequency. */
  assigned: number;
  /** Rows not assigned. */
  unassigned: number;
}

/** A row's non-constant power at or below this fraction of its total power counts as none (rounding of the DFT). */
const NO_POWER = 1e-24;

/**
 * Key frequencies in the style of Nanda et al., "Progress measures for grokking via mechanistic
 * interpretability" (ICLR 2023), who find that each neuron of a grokked network is well explained
 * by one frequency. For each row y of a rows × p matrix, with the Parseval-normalised amplitudes n_f
 * of `fourierSpectrum`:
 *
 *   share_f = n_f² / Σ_{f' = 1..⌊p/2⌋} n_{f'}²   (f ≥ 1: the fraction of the row's non-constant power at f)
 *
 * The row's frequency is argmax_f share_f (the lowest f on ties); a row is unassigned when its best
 * share is below `threshold` (default 0.85), or when it has no non-constant power (a constant or
 * zero row: power ≤ 1e-24 of its total, i.e. zero up to the DFT's rounding). The key frequencies
 * are the distinct assigned ones with their neuron counts.
 * An extra (protocol §7.5): not a metric of the Grokking Tickets paper.
 * @example
 * const kf = keyFrequencies(A, rows, cols);
 * console.log(kf.keyFrequencies.slice(0, 5), kf.assigned, kf.unassigned);
 */
export function keyFrequencies(
  matrix: ArrayLike<number>,
  rows: number,
  p: number,
  options: KeyFrequencyOptions = {},
): KeyFrequencies {
  checkMatrix(matrix, rows, p);
  const threshold = options.threshold ?? 0.85;
  if (!Number.isFinite(threshold)) throw new MetricsError(`threshold must be a finite number, got ${threshold}`);
  const { perRow: spec } = fourierSpectrum(matrix, rows, p);
  const h = Math.floor(p / 2);
  const w = h + 1;
  const out: Array<{ frequency: number | null; share: number }> = [];
  const counts = new Map<number, number>();
  for (let r = 0; r < rows; r++) {
    const n0 = spec[r * w]!;
    let nonConst = 0;
    let best = 0;
    let bestF = 0;
    for (let f = 1; f <= h; f++) {
      const pw = spec[r * w + f]! * spec[r * w + f]!;
      nonConst += pw;
      if (pw > best) {
        best = pw;
        bestF = f;
      }
    }
    if (!(nonConst > NO_POWER * (nonConst + n0 * n0))) {
      out.push({ frequency: null, share: 0 });
      continue;
    }
    const share = best / nonConst;
    if (share >= threshold) {
      out.push({ frequency: bestF, share });
      counts.set(bestF, (counts.get(bestF) ?? 0) + 1);
    } else {
      out.push({ frequency: null, share });
    }
  }
  const keys = [...counts]
    .map(([frequency, neurons]) => ({ frequency, neurons }))
    .sort((x, y) => y.neurons - x.neurons || x.frequency - y.frequency);
  const assigned = keys.reduce((t, k) => t + k.neurons, 0);
  return { perRow: out, keyFrequencies: keys, assigned, unassigned: rows - assigned };
}
