/**
 * @grokking-tickets/models — the models of the Grokking Tickets paper with named parameters, masks,
 * seeded initialisation and safetensors checkpoints.
 */
import { mlpDefinition } from './mlp.js';
import { mnistMlpDefinition } from './mnistMlp.js';
import { registerModel } from './registry.js';
import { transformerDefinition } from './transformer.js';

registerModel(mlpDefinition);
registerModel(transformerDefinition);
registerModel(mnistMlpDefinition);

export type {
  Batch,
  GrokModel,
  ImageBatch,
  LossKind,
  ModelDefinition,
  NamedArrays,
  NamedTensors,
  PairBatch,
  ParamSpec,
  PreparedBatch,
  ReferenceLayout,
  StackedBatch,
} from './types.js';
export { ModelError, createModel, getModelDefinition, listModels, models, registerModel } from './registry.js';
export { mlpDefinition, transformerDefinition, mnistMlpDefinition };
export { disposeBatch, disposeStackedBatch, oneHotMatrix } from './batch.js';
export { SeededRandom, gaussianArray } from './random.js';
export {
  applyMasks,
  countParameters,
  denseMasks,
  initialWeights,
  modelLoss,
  sizeOf,
  toReferenceStateDict,
  toTensors,
  validateArrays,
} from './weights.js';
