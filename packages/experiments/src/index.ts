/**
 * @grokking-tickets/experiments — the planner of many runs: the grokking-ticket protocol and sweeps
 * (a grid of runs from one file) turned into one graph of run jobs (a ticket experiment is a sweep
 * of one point), the arm registry, the ticket config, one arm's run (`runArm`), and the summaries
 * of experiments and sweeps. Running a plan (executors, stacking, queue) is
 * @grokking-tickets/scheduler.
 */
export {
  arms,
  getArm,
  listArms,
  registerArm,
  type ArmContext,
  type ArmDefinition,
  type ArmPlan,
  type NormDefinition,
} from './arms.js';
export { maskAtInitArm } from './arms/atInit.js';
export { ExperimentError, checkpointFor, modelOf, openDenseRun, type DenseSource } from './dense.js';
export { jobDir, jobOf, plannedRunDir, type JobOutcome, type RunJob, type SingleJob, type StackJob } from './jobs.js';
export {
  experimentFolderName,
  planExperiments,
  pointLabel,
  runFolderName,
  type PlanLayout,
  type PlannedExperiment,
  type PlannedRun,
  type SweepKind,
  type SweepPlan,
  type SweepPoint,
  type SweepSpec,
  type SweepVariant,
} from './plan.js';
export {
  armContext,
  denseDirOf,
  maskOptionsOf,
  planArm,
  readTicketRecord,
  resolveExperimentPruner,
  runArm,
  type ArmJobOptions,
  type TicketRecord,
} from './ticket.js';
export { planTicket, type TicketPlan, type TicketPlanOptions } from './ticketPlan.js';
export {
  buildTicketSummary,
  saveTicketMask,
  type ArmMaskOverlap,
  type ArmResult,
  type TicketSummary,
} from './ticketSummary.js';
export {
  denseArmIsDenseRun,
  denseTrainingConfig,
  denseWithCheckpoints,
  resolveTicketConfig,
  retrainConfig,
  ticketConfigInputSchema,
  ticketIdentity,
  type TicketConfig,
  type TicketConfigInput,
} from './ticketConfig.js';
export {
  MAX_SWEEP_POINTS,
  checkPrunerAllowed,
  expandGrid,
  getSweepAxis,
  listSweepAxes,
  loadSweepFile,
  planSweep,
  readSweepFile,
  registerSweepAxis,
  sweepAxes,
  validateSweep,
  type PlanOptions,
  type SweepAxisDefinition,
  type SweepFile,
} from './sweepSpec.js';
export { ensureExperimentRecord, sweepRecord } from './sweepRecord.js';
export { buildSweepRows, statusOf, type RunState } from './sweepRows.js';
// The sweep results format lives in @grokking-tickets/experiment-format; re-exported for callers of buildSweepRows.
export {
  SWEEP_CSV_COLUMNS,
  sweepRowsToCsv,
  sweepRowsToJsonl,
  type SweepRow,
  type SweepRunStatus,
} from '@grokking-tickets/experiment-format';
// Plug-ins for every registry (models, tasks, arms, pruners), loaded in every process of a run.
export { loadedPlugins, usePlugins, type LoadedPlugin, type PluginSpec } from '@grokking-tickets/registry';
