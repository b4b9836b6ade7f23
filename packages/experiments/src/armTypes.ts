import type { Batch, GrokModel, NamedArrays } from '@grokking-tickets/models';
import type { MaskOptions, MaskResult } from '@grokking-tickets/pruners';

/** How the same-norm controls measure norms (protocol §6.2). */
export type NormDefinition = 'global' | 'perTensorSum';

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
  /** Registry name: lowercase letters, digits and dashes (`ticket`, `same-l2`). */
  name: string;
  description: string;
  plan(ctx: ArmContext): Promise<ArmPlan>;
}

/** Number of weights of a model (every parameter). */
export const countAll = (model: GrokModel): number =>
  model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
