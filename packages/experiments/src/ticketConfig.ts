import {
  ConfigError,
  configHash,
  parseWith,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from '@grokking-tickets/training';
import { z } from 'zod';
import { listArms } from './arms.js';

/** How the same-norm controls measure norms (protocol §6.2). */
export type NormDefinition = 'global' | 'perTensorSum';

/** Everything that defines a ticket experiment. */
export interface TicketConfig {
  /** The dense run's config (when `denseDir` is given: that run's config). */
  dense: TrainConfig;
  /** Reuse this finished dense run folder instead of training one (state, not identity). */
  denseDir: string | null;
  /** Checkpoint whose weights are scored: 'final' or a step (updates done), e.g. 2000 for memorisation. */
  fromStep: number | 'final';
  /** Pruner: a built-in name, an installed package name, or a module path. */
  pruner: string;
  /** Fraction of prunable weights removed, in [0, 1): 0.6 keeps 40 % (the reference's κ = 0.4). */
  pruningRate: number;
  scope: 'global' | 'local';
  schedule: 'one-shot' | 'linear' | 'exponential';
  rounds: number;
  invert: boolean;
  shuffle: boolean;
  /** Rewind the ticket to θ0 ('init') or to the weights after r updates. */
  rewindStep: number | 'init';
  /** Arms to run (registry names, see `listArms`); which arms run is not part of the experiment's identity. */
  arms: string[];
  /** Parameters to prune (null: every prunable weight matrix, embeddings included, as the reference). */
  prunable: string[] | null;
  /** Overrides for every retrained arm (default: the dense run's values). */
  retrain: { weightDecay?: number; steps?: number; evalEvery?: number };
  normDefinition: NormDefinition;
}

/** A ticket config as users write it. */
export type TicketConfigInput = Partial<Omit<TicketConfig, 'dense'>> & { dense?: TrainConfigInput };

const MAX_STEPS = 100_000_000;
const stepOr = <W extends string>(word: W) =>
  z.union([z.literal(word), z.number().int().min(0).max(MAX_STEPS)], {
    error: (issue) => `must be "${word}" or a step number, got ${JSON.stringify(issue.input)}`,
  });
const name = z.string().min(1);

/** The shape of a ticket config as users write it: strict at every depth. */
export const ticketConfigInputSchema = z.strictObject({
  dense: z.unknown().optional(),
  denseDir: name.nullable().optional(),
  fromStep: stepOr('final').optional(),
  pruner: name.optional(),
  pruningRate: z.number().min(0).lt(1).optional(),
  scope: z.enum(['global', 'local']).optional(),
  schedule: z.enum(['one-shot', 'linear', 'exponential']).optional(),
  rounds: z.number().int().min(1).max(1000).optional(),
  invert: z.boolean().optional(),
  shuffle: z.boolean().optional(),
  rewindStep: stepOr('init').optional(),
  arms: z.array(name).min(1).optional(),
  prunable: z.array(name).min(1).nullable().optional(),
  retrain: z
    .strictObject({
      weightDecay: z.number().min(0).max(1e6),
      steps: z.number().int().min(1).max(MAX_STEPS),
      evalEvery: z.number().int().min(1).max(MAX_STEPS),
    })
    .partial()
    .optional(),
  normDefinition: z.enum(['global', 'perTensorSum']).optional(),
});

/**
 * Fills defaults (magnitude pruning of the final weights, global, one-shot, pruning rate 0.6, rewind
 * to θ0, arms ticket + dense) and validates every field by schema: unknown fields at any depth,
 * wrong types, empty strings and out-of-range values are refused with the field's path. Cross-field
 * rules are checked too: the schedule against the rounds, the scored and rewind steps against the
 * dense run's length, the arms against the registry. Pure.
 */
export function resolveTicketConfig(input: TicketConfigInput = {}): TicketConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ConfigError('ticket config must be a JSON object');
  const given = parseWith(ticketConfigInputSchema, input, (m) => new ConfigError(m));
  let dense: TrainConfig;
  try {
    dense = resolveTrainConfig(given.dense ?? {});
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(
        e.message.startsWith('unknown config field')
          ? e.message.replace('unknown config field', 'dense: unknown field')
          : `dense.${e.message}`,
        { cause: e },
      );
    throw e;
  }
  const arms = [...new Set(given.arms ?? ['ticket', 'dense'])];
  const known = listArms();
  for (const a of arms)
    if (!known.includes(a)) throw new ConfigError(`arms: unknown arm "${a}" (arms: ${known.join(', ')})`);
  const schedule = given.schedule ?? 'one-shot';
  const rounds = given.rounds ?? 1;
  if (schedule === 'one-shot' && rounds > 1)
    throw new ConfigError(
      `rounds: a one-shot schedule has one round; use schedule linear or exponential for ${rounds} rounds`,
    );
  const fromStep = given.fromStep ?? 'final';
  const rewindStep = given.rewindStep ?? 'init';
  for (const [field, s] of [
    ['fromStep', fromStep],
    ['rewindStep', rewindStep],
  ] as const) {
    if (typeof s === 'number' && s > dense.steps)
      throw new ConfigError(`${field}: step ${s} is beyond the dense run's ${dense.steps} steps`);
  }
  return {
    dense,
    denseDir: given.denseDir ?? null,
    fromStep,
    pruner: given.pruner ?? 'magnitude',
    pruningRate: given.pruningRate ?? 0.6,
    scope: given.scope ?? 'global',
    schedule,
    rounds,
    invert: given.invert ?? false,
    shuffle: given.shuffle ?? false,
    rewindStep,
    arms,
    prunable: given.prunable ?? null,
    retrain: { ...given.retrain },
    normDefinition: given.normDefinition ?? 'global',
  };
}

/**
 * The identity of a ticket experiment: its config without the arms to run now and without the
 * dense run's folder (a reused dense run is identified by its config, which is part of `dense`).
 * Resuming with more arms adds them; anything else that changes this hash is a different experiment.
 */
export function ticketIdentity(config: TicketConfig): string {
  const { arms: _arms, denseDir: _dir, ...rest } = config;
  return configHash(rest);
}

/** The config every retrained arm trains with: the dense run's, with the retrain overrides and no extra checkpoints. */
export function retrainConfig(config: TicketConfig): TrainConfig {
  const dense = config.dense;
  return resolveTrainConfig({
    ...dense,
    checkpointSteps: [],
    optimizer: {
      ...dense.optimizer,
      ...(config.retrain.weightDecay !== undefined ? { weightDecay: config.retrain.weightDecay } : {}),
    },
    steps: config.retrain.steps ?? dense.steps,
    evalEvery: config.retrain.evalEvery ?? dense.evalEvery,
  });
}

/** The dense config the protocol trains: the given one plus checkpoints at the scored and rewind steps. */
export function denseTrainingConfig(config: TicketConfig): TrainConfig {
  const d = config.dense;
  const covered = (s: number) =>
    d.checkpointSteps.includes(s) || (d.checkpointEvery > 0 && s % d.checkpointEvery === 0);
  const extra = [config.fromStep, config.rewindStep].filter(
    (s): s is number => typeof s === 'number' && s > 0 && s < d.steps && !covered(s),
  );
  return extra.length ? resolveTrainConfig({ ...d, checkpointSteps: [...d.checkpointSteps, ...extra] }) : d;
}
