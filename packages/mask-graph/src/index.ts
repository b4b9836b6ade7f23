/**
 * @grokking-tickets/mask-graph — a pruning mask as a graph (units as nodes, kept weights as edges) and its
 * graph metrics: average shortest-path length, square clustering (Lind et al.) and bipartite clustering
 * (Robins–Alexander), over the largest connected component. Built on graphology; pure (no tensor library,
 * no file system).
 */
export { MaskGraphError } from './errors.js';
export {
  maskGraph,
  mlpNetwork,
  mnistMlpNetwork,
  type LayerLink,
  type LayeredNetwork,
  type MaskArrays,
  type UnitLayer,
} from './network.js';
export { graphMetrics, maskGraphMetrics, type GraphMetrics, type MaskGraphMetrics } from './metrics.js';
