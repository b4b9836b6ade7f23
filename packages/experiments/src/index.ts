/**
 * @grokking-tickets/experiments — everything that is many runs: the grokking-ticket protocol as a
 * plan of runs with its arms in a registry, and executors that run jobs in this thread, in worker
 * threads, in child processes or through a queue.
 */
export { type ArmDefinition, type ArmContext, type ArmPlan, getArm, listArms, registerArm } from './arms.js';
export { ExperimentError, checkpointFor, openDenseRun, type DenseSource } from './dense.js';
export {
  createChildProcessExecutor,
  createInProcessExecutor,
  createWorkerThreadExecutor,
  executeJob,
  groupIntoStacks,
  jobDir,
  runStacked,
  type Executor,
  type ExecutorRunOptions,
  type JobOutcome,
  type RunJob,
  type SingleJob,
  type StackJob,
} from './executors.js';
export { maskedNorms, sameNormScales } from '@grokking-tickets/grokking-metrics';
export {
  DEFAULT_STACK,
  denseDirOf,
  planArm,
  readTicketRecord,
  resolveExperimentPruner,
  runArm,
  runTicket,
  type ArmJobOptions,
  type ArmResult,
  type TicketEvent,
  type TicketOptions,
  type TicketRecord,
  type TicketSummary,
} from './ticket.js';
export {
  denseTrainingConfig,
  resolveTicketConfig,
  retrainConfig,
  ticketConfigInputSchema,
  ticketIdentity,
  type NormDefinition,
  type TicketConfig,
  type TicketConfigInput,
} from './ticketConfig.js';
