/**
 * @grokking-tickets/training — AdamW with PyTorch semantics, the full-batch training loop with fixed
 * masks, resumable run folders, and a step benchmark.
 */
export { AdamW, PAPER_ADAMW, validateAdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export { Trainer, type EvalRow, type TrainerInit } from './trainer.js';
export { ConfigError, PAPER_DEFAULTS, canonicalJson, configHash, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
export { getTask, listTasks, registerTask, resolveTaskConfig, type TaskConfig, type TaskData, type TaskDefinition } from './tasks.js';
export { RunFolderError, RunStore, writeFileAtomic, type ResumeMeta } from './runStore.js';
export { firstStepReaching, summarize, type RunSummary } from './summary.js';
export { runTraining, type RunMode, type RunOptions, type RunResult, type TrainEvent } from './run.js';
export { BENCH_CASES, benchmarkStep, type StepBenchmark } from './bench.js';
export {
  TICKET_ARMS,
  TicketError,
  maskedNorms,
  resolveTicketConfig,
  runTicket,
  sameNormScales,
  type ArmName,
  type ArmResult,
  type NormDefinition,
  type TicketConfig,
  type TicketConfigInput,
  type TicketEvent,
  type TicketOptions,
  type TicketSummary,
} from './ticket.js';
