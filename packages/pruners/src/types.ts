import type { Batch, GrokModel, NamedArrays } from '@grokking-tickets/models';

/** Scores: one array per scored parameter, as long as its weights; higher = more important (kept). */
export type Scores = Record<string, Float32Array | Float64Array>;

/** Everything a pruner may read when scoring. */
export interface ScoringContext {
  model: GrokModel;
  /**
   * Raw parameter values being scored (θ_t of a trained run for tickets, θ0 for pruning at initialisation); every
   * parameter.
   */
  weights: NamedArrays;
  /** Current masks (all ones in round 1) for every prunable parameter. */
  masks: NamedArrays;
  /** Names of the parameters to score, in model order. */
  prunable: string[];
  /** θ0 of the run the weights come from, when known (magnitude-increase needs it). */
  initialWeights?: NamedArrays;
  /** Scoring data: the training set (data-dependent pruners: SNIP, GraSP, SynFlow). */
  batch?: Batch;
  /** Seed for stochastic pruners: the same seed gives the same scores. */
  seed: number;
  /** 1-based round and total rounds of the schedule. */
  round: number;
  rounds: number;
}

/** A pruning criterion. A pruner package default-exports one, typed with `definePruner`. */
export interface Pruner {
  /** Short name, e.g. 'magnitude' or 'magnitude-increase'. */
  name: string;
  description: string;
  /** True when score() reads ctx.batch (the caller must then pass the training set). */
  needsData: boolean;
  /** True when score() reads ctx.initialWeights. */
  needsInitialWeights?: boolean;
  score(ctx: ScoringContext): Scores | Promise<Scores>;
}

/** One threshold over every scored weight, or one per tensor. */
export type MaskScope = 'global' | 'local';
/** How the kept fraction shrinks over the rounds (identical when rounds = 1). */
export type MaskSchedule = 'one-shot' | 'linear' | 'exponential';

/** How `buildMask` turns scores into masks. */
export interface MaskOptions {
  /**
   * Fraction of prunable weights removed, in [0, 1): the paper's pruning rate (0.6 removes 60 %). keepFraction = 1 −
   * pruningRate.
   */
  pruningRate: number;
  /** One threshold over every scored weight (`global`, default; what the paper uses) or one per tensor (`local`). */
  scope?: MaskScope;
  /** Default `one-shot` (one round); `linear` or `exponential` over `rounds`. */
  schedule?: MaskSchedule;
  /**
   * Scoring rounds E (default 1, a positive integer; more than 1 needs a linear or exponential schedule); scores are
   * recomputed each round on the masked model.
   */
  rounds?: number;
  /**
   * Keep the lowest scores instead: implemented as negation of the scores (the reference takes reciprocals, which gives
   * NaN at 0).
   */
  invert?: boolean;
  /** Permute each tensor's final mask randomly (a random mask with the same per-tensor densities), seeded. */
  shuffle?: boolean;
  /** Parameters to prune (default: every parameter marked prunable). */
  prunable?: string[];
}

/** The masks and their counts. */
export interface MaskResult {
  /** 0/1 per prunable parameter. */
  masks: NamedArrays;
  keepFraction: number;
  pruningRate: number;
  kept: number;
  total: number;
  perTensor: Record<string, { kept: number; total: number }>;
  rounds: number;
}
