import { countAll, type ArmDefinition } from '../armTypes.js';

/** The dense network from θ0 with the retraining settings (the dense run itself when those are its own). */
export const denseArm: ArmDefinition = {
  name: 'dense',
  description: 'the dense network from θ0, trained with the retraining settings',
  async plan(ctx) {
    return { initialWeights: ctx.theta0, kept: countAll(ctx.model), total: countAll(ctx.model), provenance: {} };
  },
};
