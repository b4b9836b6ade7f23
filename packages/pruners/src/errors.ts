/** Thrown for unknown pruners, bad pruner modules, bad mask options; one-line messages. */
export class PrunerError extends Error {
  override name = 'PrunerError';
  /** Stable identifier of this error class. */
  readonly code = 'GT_PRUNER';
}
