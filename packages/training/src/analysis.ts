import {
  frequencyEntropy,
  fourierSpectrum,
  keyFrequencies,
  restrictedLoss,
  spectrumGini,
  tokenAxisMatrices,
  type TokenAxisMatrices,
} from '@grokking-tickets/grokking-metrics';
import type { GrokModel, NamedArrays, PairBatch } from '@grokking-tickets/models';

/**
 * The Fourier analysis of one model state, as flat fields added to a metrics row: for the token-axis
 * matrices "in" and "out" (MLP: the effective input weights A = (W_in⊙M_in)(W_E⊙M_E) and output
 * weights B = (W_out⊙M_out)ᵀ(W_U⊙M_U); Transformer: W_E and W_U), the reference's frequency
 * statistic ("softmax-CE spectral concentration", protocol §7.4), the Shannon entropy of the same
 * spectrum shares, the Gini coefficient of the summed spectrum, and the key frequencies (Nanda et
 * al.: [frequency, neurons] pairs); and, for (a + b) mod p, the restricted and excluded losses.
 */
export interface AnalysisFields {
  freq_entropy_in: number;
  freq_shannon_in: number;
  gini_in: number;
  key_freqs_in: Array<[number, number]>;
  freq_entropy_out: number;
  freq_shannon_out: number;
  gini_out: number;
  key_freqs_out: Array<[number, number]>;
  restricted_loss_train?: number;
  restricted_loss_all?: number;
  excluded_loss_train?: number;
  excluded_loss_all?: number;
}

/** The token-axis matrices a model's Fourier analysis looks at (rows × vocab), or null when it has none (MNIST). */
export function tokenMatrices(model: GrokModel, weights: NamedArrays, masks?: NamedArrays): TokenAxisMatrices | null {
  return tokenAxisMatrices(model.kind, weights, masks, Object.fromEntries(model.params.map((p) => [p.name, p.shape])));
}

function side(matrix: Float64Array, rows: number, p: number) {
  const entropy = frequencyEntropy(matrix, rows, p);
  const keys = keyFrequencies(matrix, rows, p);
  return {
    entropy: entropy.spectralConcentration,
    shannon: entropy.shannon,
    gini: spectrumGini(fourierSpectrum(matrix, rows, p)),
    keys: keys.keyFrequencies.map((k) => [k.frequency, k.neurons] as [number, number]),
  };
}

/** Every pair (a, b) of Z_p, a outer: the inputs of the restricted loss, with the labels of (a + b) mod p. */
export function allPairs(p: number): PairBatch {
  const a = new Int32Array(p * p);
  const b = new Int32Array(p * p);
  const labels = new Int32Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      a[i * p + j] = i;
      b[i * p + j] = j;
      labels[i * p + j] = (i + j) % p;
    }
  }
  return { kind: 'pairs', a, b, labels };
}

/**
 * The analysis fields of a model state. `logits` (p² × p, from {@link allPairs}) and `train`
 * (the training pairs) add the restricted and excluded losses; pass them only for (a + b) mod p,
 * the task whose key-frequency directions cos/sin(w(a+b)) they are defined for.
 */
export function analyzeState(
  model: GrokModel,
  weights: NamedArrays,
  masks: NamedArrays | undefined,
  pairs?: { logits: Float32Array; train: PairBatch },
): AnalysisFields | null {
  const m = tokenMatrices(model, weights, masks);
  if (!m) return null;
  const i = side(m.in, m.rows, m.p);
  const o = side(m.out, m.rows, m.p);
  const fields: AnalysisFields = {
    freq_entropy_in: i.entropy,
    freq_shannon_in: i.shannon,
    gini_in: i.gini,
    key_freqs_in: i.keys,
    freq_entropy_out: o.entropy,
    freq_shannon_out: o.shannon,
    gini_out: o.gini,
    key_freqs_out: o.keys,
  };
  if (pairs) {
    const p = m.p;
    const inTrain = new Uint8Array(p * p);
    for (let k = 0; k < pairs.train.a.length; k++) inTrain[pairs.train.a[k]! * p + pairs.train.b[k]!] = 1;
    // The key frequencies of the logits' structure are those of the input side (Nanda et al.).
    const keys = [...new Set(i.keys.map(([f]) => f))].sort((x, y) => x - y);
    const r = restrictedLoss({
      logits: pairs.logits,
      p,
      labels: allPairs(p).labels,
      trainPairs: inTrain,
      keyFrequencies: keys,
    });
    fields.restricted_loss_train = r.restricted.train;
    fields.restricted_loss_all = r.restricted.all;
    fields.excluded_loss_train = r.excluded.train;
    fields.excluded_loss_all = r.excluded.all;
  }
  return fields;
}
