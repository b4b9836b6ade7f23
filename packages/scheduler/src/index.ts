/**
 * @grokking-tickets/scheduler — runs the plans that @grokking-tickets/experiments makes: one graph
 * runner (`runPlan`) for ticket experiments (`runTicket`) and sweeps (`runSweep`), one stacking
 * policy, and executors that run jobs in this thread, in worker threads, in child processes, or on
 * other machines through a BullMQ queue (the subpath `@grokking-tickets/scheduler/queue`). Plug-ins
 * loaded in this process reach every process an executor starts.
 */
export {
  createChildProcessExecutor,
  createInProcessExecutor,
  createWorkerThreadExecutor,
  executeJob,
  pluginSpecs,
  type Executor,
  type ExecutorRunOptions,
} from './executors.js';
export { DEFAULT_STACK, bySteps, groupIntoStacks, runStacked, stackKeyOf, stackOf, stackSizes } from './stacking.js';
export { runPlan, type RunPlanOptions } from './runPlan.js';
export { runTicket, type TicketEvent, type TicketOptions } from './ticket.js';
export { runSweep, type SweepEvent, type SweepOptions, type SweepResult } from './sweep.js';
// The job types are the planner's; re-exported for executor users.
export {
  jobDir,
  plannedRunDir,
  type JobOutcome,
  type RunJob,
  type SingleJob,
  type StackJob,
} from '@grokking-tickets/experiments';
// The BullMQ queue is a subpath, `@grokking-tickets/scheduler/queue`, so that importing the
// package does not load BullMQ and ioredis; its types are re-exported here.
export type {
  QueueExecutor,
  QueueExecutorOptions,
  QueueWorkerOptions,
  QueuedJob,
  QueuedOutcome,
  WorkerEvent,
} from './queue.js';
