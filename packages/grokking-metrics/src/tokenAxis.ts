import { mlpEffectiveWeights } from './fourier.js';
import type { NamedArrays } from './norms.js';

/** The two token-axis matrices a model's Fourier analysis looks at, each rows × p (row-major, float64). */
export interface TokenAxisMatrices {
  /** MLP: A = (W_in⊙M_in)(W_E⊙M_E), one row per hidden neuron; Transformer: W_E⊙M_E, one row per residual dimension. */
  in: Float64Array;
  /** MLP: B = (W_out⊙M_out)ᵀ(W_U⊙M_U); Transformer: W_U⊙M_U. */
  out: Float64Array;
  rows: number;
  /** Number of tokens (the modulus p). */
  p: number;
}

/**
 * The matrices over the token axis whose Fourier structure protocol §7.4 analyses, from a model's
 * weights, masks and shapes: for the paper's MLP (no extra hidden layers) the effective input
 * weights A and output weights B (see {@link mlpEffectiveWeights}); for the 1-layer Transformer the
 * masked embedding W_E and unembedding W_U (d_model × p each). Null for other models (the MNIST MLP
 * has no token axis) or when a tensor is missing.
 * @example
 * const m = tokenAxisMatrices('mlp', weights, masks, { W_E: [500, 67], W_in: [48, 500], W_out: [500, 48], W_U: [500,
 * 67] });
 * frequencyEntropy(m.in, m.rows, m.p).spectralConcentration;
 */
export function tokenAxisMatrices(
  kind: string,
  weights: NamedArrays,
  masks: NamedArrays | null | undefined,
  shapes: Record<string, readonly number[]>,
): TokenAxisMatrices | null {
  const w = weights;
  if (
    kind === 'mlp' &&
    w.W_E &&
    w.W_in &&
    w.W_out &&
    w.W_U &&
    Object.keys(w).every((k) => ['W_E', 'W_in', 'W_out', 'W_U'].includes(k))
  ) {
    const [dEmb, vocab] = shapes.W_E!;
    const e = mlpEffectiveWeights(w, masks ?? null, { vocab: vocab!, dEmb: dEmb!, dModel: shapes.W_in![0]! });
    return { in: e.A, out: e.B, rows: e.rows, p: e.cols };
  }
  if (kind === 'transformer' && w.W_E && w.W_U) {
    const masked = (name: string) => Float64Array.from(w[name]!, (x, i) => (masks?.[name] ? x * masks[name][i]! : x));
    const [rows, p] = shapes.W_E!;
    return { in: masked('W_E'), out: masked('W_U'), rows: rows!, p: p! };
  }
  return null;
}
