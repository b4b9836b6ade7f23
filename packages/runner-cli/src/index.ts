/** @grokking-tickets/runner-cli — the `grokking-tickets` command, also usable as a library. */
export { buildProgram, configFromOptions, CliError, DEMO_CONFIG } from './cli.js';
export { progressReporter, progressStyle, type ProgressStyle } from './progress.js';
