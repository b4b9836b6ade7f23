/**
 * @grokking-tickets/pruners — the Pruner contract, buildMask (global/local, one-shot/linear/
 * exponential schedules), the reference's pruners (random, magnitude, SNIP, GraSP, SynFlow), and the
 * plug-in loader. The conformance kit for pruner packages is `@grokking-tickets/pruners/testing`.
 */
export type { MaskOptions, MaskResult, MaskSchedule, MaskScope, Pruner, ScoringContext, Scores } from './types.js';
export { PrunerError } from './errors.js';
export {
  BUILTIN_PRUNERS,
  definePruner,
  graspPruner,
  magnitudePruner,
  randomPruner,
  snipPruner,
  synflowPruner,
} from './builtins.js';
export {
  TIE_TOLERANCE,
  buildMask,
  keepFractionOf,
  scheduledKeepFraction,
  shuffleMasks,
  thresholdScores,
} from './mask.js';
export { maskScheduleSchema, maskScopeSchema, pruningRateSchema, roundsSchema } from './maskOptions.js';
export { getPruner, isBuiltinPruner, listPruners, loadPruner, pruners, registerPruner } from './registry.js';
