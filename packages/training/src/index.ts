/**
 * @grokking-tickets/training — one training run: AdamW with PyTorch semantics, the full-batch loop
 * with fixed masks, the task registry, config resolution by schema, and resumable, verified run
 * folders. Experiments made of many runs (the ticket protocol, sweeps) are planned by
 * @grokking-tickets/experiments and run by @grokking-tickets/scheduler.
 */
export { AdamW, PAPER_ADAMW, validateAdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export { Trainer, type EvalRow, type TrainerInit } from './trainer.js';
export {
  BACKENDS,
  ConfigError,
  MAX_STEPS,
  WASM_TENSOR_LIMIT_BYTES,
  PAPER_DEFAULTS,
  checkResources,
  configHash,
  estimateMemoryBytes,
  mergeInput,
  optimizerInputSchema,
  resolveTrainConfig,
  trainConfigInputSchema,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
export { formatIssue, parseWith, schemaField, unwrapSchema } from './schema.js';
export {
  TaskConfigError,
  getTask,
  listTasks,
  registerTask,
  resolveTaskConfig,
  tasks,
  type TaskConfig,
  type TaskData,
  type TaskDefinition,
} from './tasks.js';
export { summarize, type RunSummary } from './summary.js';
export {
  NonFiniteError,
  RunSession,
  runTraining,
  type RunMode,
  type RunOptions,
  type RunResult,
  type RunTrainerView,
  type TrainEvent,
} from './run.js';
export { allPairs, analyzeState, tokenMatrices, type AnalysisFields } from './analysis.js';
export {
  analyzeRun,
  type AnalysisRow,
  type AnalyzeRunOptions,
  type AnalyzeRunResult,
  type RunMaskStats,
} from './analyzeRun.js';
export {
  GRAPH_FORMAT,
  STRUCTURE_FORMAT,
  networkOf,
  type GraphFile,
  type GraphFileEntry,
  type StructureFile,
  type StructureFileRow,
} from './structure.js';
export { CODE_PACKAGES, codeDifference, codeProvenance, type CodeProvenance } from './provenance.js';
export { BENCH_CASES, benchmarkStack, benchmarkStep, type StackBenchmark, type StepBenchmark } from './bench.js';
export { StackedTrainer, canStack, type StackMember, type StackedTrainerInit } from './stackedTrainer.js';
export { runStack, stackKey, type StackOptions, type StackOutcome } from './stack.js';
