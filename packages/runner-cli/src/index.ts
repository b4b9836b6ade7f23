/** @grokking-tickets/runner-cli — the `grokking-tickets` command, also usable as a library. */
export { VERSION, buildProgram } from './program.js';
export { CliError, EXIT, UsageError, exitCodeOf } from './errors.js';
export { DEMO_CONFIG, DEMO_TICKET } from './commands/demo.js';
export { formatTicketTable } from './commands/ticket.js';
export { defaultRunDir } from './commands/train.js';
export {
  TRAIN_FLAGS,
  flagFromField,
  intFlag,
  numberFlag,
  trainFlags,
  type ConfigFlag,
  type FlagFieldSpec,
} from './flags.js';
export {
  formatDuration,
  progressReporter,
  progressStyle,
  sweepProgress,
  type ProgressStyle,
  type SweepDisplayEvent,
  type SweepRunInfo,
} from './progress.js';
