/** @grokking-tickets/runner-cli — the `grokking-tickets` command, also usable as a library. */
export { buildProgram, configFromOptions, formatTicketTable, CliError, DEMO_CONFIG, DEMO_TICKET } from './cli.js';
export { progressReporter, progressStyle, type ProgressStyle } from './progress.js';
