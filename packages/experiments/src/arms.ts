import { createRegistry, type Registry } from '@grokking-tickets/registry';
import type { ArmDefinition } from './armTypes.js';
import { graspArm, magnitudeInitArm, randomArm, snipArm, synflowArm } from './arms/atInit.js';
import { denseArm } from './arms/dense.js';
import { sameL1Arm, sameL2Arm } from './arms/sameNorm.js';
import { ticketArm } from './arms/ticket.js';

export type { ArmContext, ArmDefinition, ArmPlan, NormDefinition } from './armTypes.js';

/**
 * The arms of the ticket experiment, by name. A new arm is one file under `arms/` exporting an
 * {@link ArmDefinition} and one entry in the list below; from outside this package,
 * `arms.register(def)` (this process only) or a plug-in's `arms: [def]` (every process of a run).
 */
export const arms: Registry<ArmDefinition> = createRegistry<ArmDefinition>({
  kind: 'arm',
  plural: 'arms',
  listLabel: 'arms',
  check: (arm) => {
    const a = arm as Partial<ArmDefinition>;
    if (typeof a.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(a.name))
      return 'an arm needs a lowercase name of letters, digits and dashes';
    if (typeof a.plan !== 'function') return `arm "${a.name}" needs a plan(ctx) function`;
    return null;
  },
  invalid: (problem) => new Error(problem),
});
for (const arm of [
  ticketArm,
  denseArm,
  sameL1Arm,
  sameL2Arm,
  randomArm,
  snipArm,
  graspArm,
  synflowArm,
  magnitudeInitArm,
])
  arms.register(arm);

/** Adds an arm to the registry (a later registration of the same name replaces it). * @example
 * registerArm({
 *   name: 'ticket-half-scale',
 *   description: 'the ticket, started from θ0 ⊙ m scaled by 0.5',
 *   async plan(ctx) {
 *     const m = await ctx.ticketMask();
 *     const init = Object.fromEntries(Object.entries(ctx.rewind).map(([k, w]) => [k, w.map((x) => x / 2)]));
 *     return { initialWeights: init, masks: m.masks, kept: m.kept, total: m.total, provenance: { scale: 0.5 } };
 *   },
 * });
 */
export function registerArm(arm: ArmDefinition): void {
  arms.register(arm);
}

/** Names of the registered arms, in registration order. */
export function listArms(): string[] {
  return arms.names();
}

/** A registered arm by name, or a RegistryError listing the known ones. */
export function getArm(name: string): ArmDefinition {
  return arms.get(name);
}
