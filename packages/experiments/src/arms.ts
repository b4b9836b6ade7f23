import { sameNormScales } from '@grokking-tickets/grokking-metrics';
import type { Batch, GrokModel, NamedArrays } from '@grokking-tickets/models';
import { getPruner, type MaskOptions, type MaskResult } from '@grokking-tickets/pruners';
import type { NormDefinition } from './ticketConfig.js';

/** What an arm can use to plan its run. Masks and weights are computed lazily and cached. */
export interface ArmContext {
  model: GrokModel;
  /** The dense run's initial weights θ0. */
  theta0: NamedArrays;
  /** The weights the ticket rewinds to (θ0, or θ_r for a later rewind step). */
  rewind: NamedArrays;
  /** The ticket mask: the experiment's pruner on the scored checkpoint. */
  ticketMask(): Promise<MaskResult>;
  /** A mask from a registered pruner scored on θ0 (pruning at initialisation), at the experiment's rate. */
  maskAtInit(pruner: string): Promise<MaskResult>;
  /** The training set (for data-dependent pruners). */
  batch: Batch;
  pruningRate: number;
  normDefinition: NormDefinition;
  maskOptions: MaskOptions;
}

/** An arm's run: where it starts and what it keeps fixed. */
export interface ArmPlan {
  initialWeights: NamedArrays;
  /** Fixed masks, or undefined for a dense run. */
  masks?: NamedArrays;
  kept: number;
  total: number;
  /** Scale applied to θ0 (same-norm controls). */
  alpha?: number;
  /** Extra provenance recorded in the arm's config.json (pruner, scored checkpoint, α, ...). */
  provenance: Record<string, unknown>;
}

/** An arm of the ticket experiment: the ticket itself, a control, or a baseline. */
export interface ArmDefinition {
  name: string;
  description: string;
  plan(ctx: ArmContext): Promise<ArmPlan>;
}

const arms = new Map<string, ArmDefinition>();

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
  if (!arm || typeof arm.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(arm.name))
    throw new Error('an arm needs a lowercase name of letters, digits and dashes');
  if (typeof arm.plan !== 'function') throw new Error(`arm "${arm.name}" needs a plan(ctx) function`);
  arms.set(arm.name, arm);
}

/** Names of the registered arms, in registration order. */
export function listArms(): string[] {
  return [...arms.keys()];
}

/** A registered arm by name, or a one-line error listing the known ones. */
export function getArm(name: string): ArmDefinition {
  const arm = arms.get(name);
  if (!arm) throw new Error(`unknown arm "${name}" (arms: ${listArms().join(', ')})`);
  return arm;
}

const countAll = (model: GrokModel) => model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
const scaled = (w: NamedArrays, a: number): NamedArrays =>
  Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((x) => x * a)]));

registerArm({
  name: 'ticket',
  description: 'the grokking ticket: the pruner on the scored checkpoint, rewound (protocol §6.1)',
  async plan(ctx) {
    const m = await ctx.ticketMask();
    return { initialWeights: ctx.rewind, masks: m.masks, kept: m.kept, total: m.total, provenance: {} };
  },
});

registerArm({
  name: 'dense',
  description: 'the dense network from θ0, trained with the retraining settings',
  async plan(ctx) {
    return { initialWeights: ctx.theta0, kept: countAll(ctx.model), total: countAll(ctx.model), provenance: {} };
  },
});

for (const which of ['l1', 'l2'] as const) {
  registerArm({
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
  });
}

// Pruning at initialisation (protocol §6.4) and the random mask: the pruner scores θ0 itself.
for (const pruner of ['random', 'snip', 'grasp', 'synflow', 'magnitude']) {
  registerArm({
    name: pruner === 'magnitude' ? 'magnitude-init' : pruner,
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
  });
}
