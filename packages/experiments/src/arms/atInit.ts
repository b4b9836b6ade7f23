import { getPruner } from '@grokking-tickets/pruners';
import type { ArmDefinition } from '../armTypes.js';

/**
 * Pruning at initialisation (protocol §6.4) and the random mask: a registered pruner scores θ0 itself,
 * at the experiment's pruning rate. `name` defaults to the pruner's.
 */
export function maskAtInitArm(pruner: string, name = pruner): ArmDefinition {
  return {
    name,
    description:
      pruner === 'random'
        ? 'a random mask at the same pruning rate'
        : `pruning at initialisation: ${pruner} scored on θ0 (protocol §6.4)`,
    async plan(ctx) {
      getPruner(pruner);
      const m = await ctx.maskAtInit(pruner);
      return {
        initialWeights: ctx.theta0,
        masks: m.masks,
        kept: m.kept,
        total: m.total,
        provenance: { pruner, scoredCheckpoint: 'init' },
      };
    },
  };
}

/** A random mask at the same rate. */
export const randomArm = maskAtInitArm('random');
/** SNIP scored on θ0. */
export const snipArm = maskAtInitArm('snip');
/** GraSP scored on θ0. */
export const graspArm = maskAtInitArm('grasp');
/** SynFlow scored on θ0. */
export const synflowArm = maskAtInitArm('synflow');
/** Magnitude of θ0. */
export const magnitudeInitArm = maskAtInitArm('magnitude', 'magnitude-init');
