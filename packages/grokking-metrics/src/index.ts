/**
 * @grokking-tickets/grokking-metrics — the metrics of the Grokking Tickets experiments as pure
 * functions over plain typed arrays (float64 inside): steps to generalise and speed-ups, weight
 * norms and the same-norm scales, the Fourier spectrum and frequency entropy of the MLP's effective
 * weights, Gini, key frequencies and restricted/excluded loss (extras after Nanda et al.), mask
 * statistics, and the structural dynamics of a run (tickets per checkpoint, their Jaccard distances,
 * weight sparsity). No dependencies.
 */
export { MetricsError } from './errors.js';
export {
  firstStepReaching,
  speedup,
  stepsToGeneralize,
  stepsToMemorize,
  validateMetricsRow,
  type MetricsRow,
} from './runs.js';
export {
  maskedNorms,
  sameNormScales,
  weightNorms,
  type NamedArrays,
  type NormDefinition,
  type WeightNorms,
} from './norms.js';
export {
  fourierSpectrum,
  frequencyEntropy,
  gini,
  keyFrequencies,
  mlpEffectiveWeights,
  spectrumGini,
  type EffectiveWeights,
  type FourierSpectrum,
  type FrequencyEntropy,
  type FrequencyEntropyOptions,
  type KeyFrequencies,
  type KeyFrequencyOptions,
} from './fourier.js';
export { tokenAxisMatrices, type TokenAxisMatrices } from './tokenAxis.js';
export {
  crossEntropy,
  restrictedLoss,
  type RestrictedLoss,
  type RestrictedLossInput,
  type SplitLoss,
} from './restricted.js';
export { maskOverlap, maskStats, type KeptCount, type TensorOverlap } from './masks.js';
export {
  magnitudeMask,
  maskDistance,
  randomMaskDistance,
  structuralChange,
  structuralDynamics,
  structureRow,
  weightSparsity,
  type MaskArrays,
  type MaskDistance,
  type StructuralChange,
  type StructuralChangeOptions,
  type StructuralDynamicsOptions,
  type StructuralInterval,
  type StructureRow,
  type WeightSparsity,
  type WeightSparsityOptions,
} from './structure.js';
