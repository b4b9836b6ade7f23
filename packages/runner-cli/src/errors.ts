/** A usage error found by the CLI itself (bad flag combination, unreadable config file): exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly code = 'GT_USAGE';
}

/** A runtime failure found by the CLI (a result that cannot be produced): exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code = 'GT_RUNTIME';
}

/** Exit codes of the `grokking-tickets` command. */
export const EXIT = { ok: 0, runtime: 1, usage: 2, interrupted: 130 } as const;

/** Error codes that mean the user's input was wrong (flags, config files, sweep files): exit code 2. */
const USAGE_CODES = new Set([
  'GT_USAGE',
  'GT_CONFIG',
  'GT_UNKNOWN_NAME',
  'GT_PLUGIN',
  'commander.unknownOption',
  'commander.invalidArgument',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.unknownCommand',
  'commander.excessArguments',
  'commander.missingMandatoryOptionValue',
  'commander.conflictingOption',
]);

/** The exit code for an error: 2 for usage errors (bad flags, configs, sweep files), 1 for everything else. */
export function exitCodeOf(e: unknown): number {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && USAGE_CODES.has(code) ? EXIT.usage : EXIT.runtime;
}
