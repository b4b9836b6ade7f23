/**
 * A file of an experiment or sweep folder cannot be read as its format says (missing, not JSON, a
 * field of the wrong type). The message is one line naming the file (and line or field) at fault;
 * readers wrap it in their own error (a report skips the input, a resume refuses the folder).
 */
export class FormatError extends Error {
  override name = 'FormatError';
  /** Stable identifier: `GT_FORMAT`. */
  readonly code: string = 'GT_FORMAT';
}
