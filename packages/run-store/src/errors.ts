/**
 * Errors of the run store. Every error of the project carries a `code` (a stable string the CLI
 * maps to an exit code, and scripts can test) and a one-line message naming the file at fault.
 */

/** A run or experiment folder cannot be used as asked (exists, not a run, edited, unwritable). */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
  /** Stable identifier: `GT_RUN_FOLDER`. */
  readonly code: string = 'GT_RUN_FOLDER';
}

/** A stored file is damaged: a metrics line that does not parse, resume state out of range, NaN in a checkpoint. */
export class CorruptRunError extends RunFolderError {
  override name = 'CorruptRunError';
  override readonly code = 'GT_CORRUPT';
  /** The damaged file. */
  readonly file: string;
  /** 1-based line number, for line-oriented files. */
  readonly line?: number;
  constructor(file: string, problem: string, options?: { line?: number; cause?: unknown }) {
    super(
      `${file}${options?.line !== undefined ? `:${options.line}` : ''}: ${problem}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.file = file;
    this.line = options?.line;
  }
}

/** Another live process holds the folder's lock. */
export class LockedError extends RunFolderError {
  override name = 'LockedError';
  override readonly code = 'GT_LOCKED';
}
