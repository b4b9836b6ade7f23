import type { ArmDefinition } from '../armTypes.js';

/** The grokking ticket: the experiment's pruner on the scored checkpoint, rewound. */
export const ticketArm: ArmDefinition = {
  name: 'ticket',
  description: 'the grokking ticket: the pruner on the scored checkpoint, rewound (protocol §6.1)',
  async plan(ctx) {
    const m = await ctx.ticketMask();
    return { initialWeights: ctx.rewind, masks: m.masks, kept: m.kept, total: m.total, provenance: {} };
  },
};
