import { sameNormScales } from '@grokking-tickets/grokking-metrics';
import type { NamedArrays } from '@grokking-tickets/models';
import { countAll, type ArmDefinition } from '../armTypes.js';

const scaled = (w: NamedArrays, a: number): NamedArrays =>
  Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((x) => x * a)]));

/** A dense control started from θ0 scaled to the ticket's initial L1 or L2 norm. */
function sameNormArm(which: 'l1' | 'l2'): ArmDefinition {
  return {
    name: `same-${which}`,
    description: `dense control: θ0 scaled to the ticket's initial ${which.toUpperCase()} norm (protocol §6.2)`,
    async plan(ctx) {
      const m = await ctx.ticketMask();
      // Norms over every parameter (unpruned ones count whole), since α scales all of them.
      const s = sameNormScales(
        ctx.rewind,
        m.masks,
        ctx.model.params.map((p) => p.name),
        ctx.normDefinition,
      );
      const alpha = which === 'l1' ? s.alphaL1 : s.alphaL2;
      return {
        initialWeights: scaled(ctx.rewind, alpha),
        kept: countAll(ctx.model),
        total: countAll(ctx.model),
        alpha,
        provenance: { alpha, normDefinition: ctx.normDefinition },
      };
    },
  };
}

/** θ0 scaled to the ticket's initial L1 norm. */
export const sameL1Arm = sameNormArm('l1');
/** θ0 scaled to the ticket's initial L2 norm. */
export const sameL2Arm = sameNormArm('l2');
