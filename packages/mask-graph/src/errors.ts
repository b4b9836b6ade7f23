/**
 * Thrown for input that cannot make a graph (a mask missing for a layer, a mask of the wrong size, a layered
 * network whose layers and weight tensors disagree, a graph that is directed or has self-loops). The
 * message is one line naming the problem.
 */
export class MaskGraphError extends Error {
  override name = 'MaskGraphError';
}
