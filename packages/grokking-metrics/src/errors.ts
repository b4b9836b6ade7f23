/**
 * Thrown for inconsistent input (lengths that do not match the stated shape, a missing tensor, a
 * negative value given to `gini`, a frequency outside 1..⌊p/2⌋, ...). The message is one line
 * naming the problem.
 */
export class MetricsError extends Error {
  override name = 'MetricsError';
}
