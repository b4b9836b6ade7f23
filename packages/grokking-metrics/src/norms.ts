import { MetricsError } from './errors.js';

/** Named flat tensors (row-major), e.g. `{ W_E, W_in, W_out, W_U }` or their masks. */
export type NamedArrays = Record<string, Float32Array | Float64Array>;

/**
 * How the same-norm controls measure the L2 norm (protocol §6.2): `'global'` is the Euclidean norm of
 * all the weights together, sqrt(Σ_l ‖W_l‖²_F); `'perTensorSum'` is the reference helper's
 * Σ_l ‖W_l‖_F. (The L1 norm Σ_l ‖W_l‖₁ is the same under both.)
 */
export type NormDefinition = 'global' | 'perTensorSum';

/** The norms of `weightNorms`. */
export interface WeightNorms {
  /** Global L1 norm ‖θ ⊙ m‖₁ = Σ_l Σ_i |W_l,i · M_l,i|. */
  l1: number;
  /** Global L2 norm sqrt(Σ_l ‖W_l ⊙ M_l‖²_F). */
  l2: number;
  /** The reference's `l1norm` / `l1mask_norm`: (1/L) Σ_l ‖W_l ⊙ M_l‖₁ (NaN when L = 0). */
  l1PerTensorMean: number;
  /** The reference's `l2norm` / `l2mask_norm`: (1/L) Σ_l ‖W_l ⊙ M_l‖_F (NaN when L = 0). */
  l2PerTensorMean: number;
  /** ‖W_l ⊙ M_l‖₁ and ‖W_l ⊙ M_l‖_F of each tensor. */
  perTensor: Record<string, { l1: number; l2: number }>;
}

/** Σ|x| and Σx² of W ⊙ M for one tensor (M absent = all ones), in float64. */
function tensorSums(
  weights: NamedArrays,
  masks: NamedArrays | null | undefined,
  name: string,
): { s1: number; s2: number } {
  const w = weights[name];
  if (!w) throw new MetricsError(`no weights named "${name}"`);
  const m = masks?.[name];
  if (m && m.length !== w.length)
    throw new MetricsError(`mask "${name}" has ${m.length} entries but its weights have ${w.length}`);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < w.length; i++) {
    const x = m ? w[i]! * m[i]! : w[i]!;
    s1 += Math.abs(x);
    s2 += x * x;
  }
  return { s1, s2 };
}

/**
 * Norms of θ ⊙ m over the tensors `names` (default: every key of `weights`), protocol §7.3. A tensor
 * without a mask (or `masks` null) counts as unmasked (all ones). With L = number of tensors:
 *
 * - l1 = Σ_l ‖W_l ⊙ M_l‖₁, l2 = sqrt(Σ_l ‖W_l ⊙ M_l‖²_F) (the global norms, for comparing tickets
 *   with dense networks);
 * - l1PerTensorMean = (1/L) Σ_l ‖W_l ⊙ M_l‖₁ and l2PerTensorMean = (1/L) Σ_l ‖W_l ⊙ M_l‖_F (the
 *   reference's logged `l1norm`/`l2norm` when unmasked, `l1mask_norm`/`l2mask_norm` when masked).
 *
 * Sums are in float64 whatever the input type.
 * @example
 * const w = { A: Float32Array.from([3, -4]), B: Float32Array.from([1, 0, 2]) };
 * const n = weightNorms(w, { A: Float32Array.from([1, 0]) });
 * // n.l1 = 3 + 1 + 2 = 6, n.l2 = sqrt(9 + 1 + 4), n.l2PerTensorMean = (3 + sqrt(5)) / 2
 */
export function weightNorms(weights: NamedArrays, masks?: NamedArrays | null, names?: string[]): WeightNorms {
  const list = names ?? Object.keys(weights);
  const perTensor: Record<string, { l1: number; l2: number }> = {};
  let l1 = 0;
  let l2sq = 0;
  let l2sum = 0;
  for (const name of list) {
    const { s1, s2 } = tensorSums(weights, masks, name);
    const t2 = Math.sqrt(s2);
    perTensor[name] = { l1: s1, l2: t2 };
    l1 += s1;
    l2sq += s2;
    l2sum += t2;
  }
  return {
    l1,
    l2: Math.sqrt(l2sq),
    l1PerTensorMean: l1 / list.length,
    l2PerTensorMean: l2sum / list.length,
    perTensor,
  };
}

/**
 * L1 and L2 norms of θ ⊙ m over the tensors `names`, by the chosen definition (protocol §6.2):
 * l1 = Σ_l ‖W_l ⊙ M_l‖₁; l2 = sqrt(Σ_l ‖W_l ⊙ M_l‖²_F) for `'global'`, Σ_l ‖W_l ⊙ M_l‖_F for
 * `'perTensorSum'`. `masks` null (or a tensor without a mask) means unmasked.
 */
export function maskedNorms(
  weights: NamedArrays,
  masks: NamedArrays | null,
  names: string[],
  def: NormDefinition,
): { l1: number; l2: number } {
  let l1 = 0;
  let l2sq = 0;
  let l2sum = 0;
  for (const name of names) {
    const { s1, s2 } = tensorSums(weights, masks, name);
    l1 += s1;
    l2sq += s2;
    l2sum += Math.sqrt(s2);
  }
  return { l1, l2: def === 'global' ? Math.sqrt(l2sq) : l2sum };
}

/**
 * The same-norm scales of protocol §6.2, the factors α by which θ0 is multiplied for the dense
 * controls: α₁ = ‖θ0 ⊙ m‖₁ / ‖θ0‖₁ and α₂ = ‖θ0 ⊙ m‖₂ / ‖θ0‖₂, with the L2 norm by `def` (global
 * Euclidean, or Σ_l ‖W0_l ⊙ M_l‖_F / Σ_l ‖W0_l‖_F as the reference's helper). For a mask unrelated
 * to θ0 keeping a fraction κ, α₁ ≈ κ and α₂ ≈ √κ.
 * @example
 * const { alphaL1, alphaL2 } = sameNormScales(theta0, ticketMasks, ['W_E', 'W_in', 'W_out', 'W_U'], 'global');
 */
export function sameNormScales(
  theta0: NamedArrays,
  masks: NamedArrays,
  names: string[],
  def: NormDefinition,
): { alphaL1: number; alphaL2: number } {
  const ticket = maskedNorms(theta0, masks, names, def);
  const dense = maskedNorms(theta0, null, names, def);
  return { alphaL1: ticket.l1 / dense.l1, alphaL2: ticket.l2 / dense.l2 };
}
