/** Thrown for unknown pruners, bad pruner modules, bad mask options; one-line messages. */
export class PrunerError extends Error {
  override name = 'PrunerError';
}
