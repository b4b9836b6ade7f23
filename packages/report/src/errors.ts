/**
 * A report cannot be made as asked: every input was skipped, or the output cannot be written.
 * `code` is `GT_REPORT` (a runtime error: exit code 1 in the CLI).
 */
export class ReportError extends Error {
  override name = 'ReportError';
  /** Stable identifier: `GT_REPORT`. */
  readonly code: string = 'GT_REPORT';
}

/**
 * One input of a report cannot be used (not a run, no checkpoints, a damaged file). The message is
 * one line naming the file (and line) at fault; the report skips the input and lists it.
 */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
  /** Stable identifier: `GT_REPORT_INPUT`. */
  readonly code: string = 'GT_REPORT_INPUT';
}

/**
 * A report option that does not fit the inputs (a baseline that is not one of the runs): a usage error, `GT_CONFIG`
 * (exit code 2).
 */
export class ReportOptionError extends Error {
  override name = 'ReportOptionError';
  /** Stable identifier: `GT_CONFIG` (a usage error). */
  readonly code: string = 'GT_CONFIG';
}
