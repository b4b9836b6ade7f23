/**
 * @grokking-tickets/experiments — everything that is many runs: the grokking-ticket protocol as a
 * plan of runs with its arms in a registry, sweeps (a grid of runs from one file), and executors
 * that run jobs in this thread, in worker threads, in child processes or through a BullMQ queue.
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
export {
  DEFAULT_STACK,
  denseDirOf,
  planArm,
  readTicketRecord,
  resolveExperimentPruner,
  runArm,
  runTicket,
  type ArmJobOptions,
  type ArmMaskOverlap,
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
export {
  MAX_SWEEP_POINTS,
  expandGrid,
  experimentFolderName,
  getSweepAxis,
  listSweepAxes,
  loadSweepFile,
  planSweep,
  pointLabel,
  readSweepFile,
  registerSweepAxis,
  runFolderName,
  validateSweep,
  type PlanOptions,
  type PlannedExperiment,
  type PlannedRun,
  type SweepAxisDefinition,
  type SweepFile,
  type SweepKind,
  type SweepPlan,
  type SweepPoint,
  type SweepSpec,
  type SweepVariant,
} from './sweepSpec.js';
export { plannedRunDir, runSweep, sweepRecord, type SweepEvent, type SweepOptions, type SweepResult } from './sweep.js';
export {
  SWEEP_CSV_COLUMNS,
  buildSweepRows,
  sweepRowsToCsv,
  sweepRowsToJsonl,
  type RunState,
  type SweepRow,
  type SweepRunStatus,
} from './sweepResults.js';
// The BullMQ queue is a subpath, `@grokking-tickets/experiments/queue`, so that importing the
// package does not load BullMQ and ioredis; its types are re-exported here.
export type {
  QueueExecutor,
  QueueExecutorOptions,
  QueueWorkerOptions,
  QueuedJob,
  QueuedOutcome,
  WorkerEvent,
} from './queue.js';
