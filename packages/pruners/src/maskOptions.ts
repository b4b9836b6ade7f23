import { z } from 'zod';

// The one definition of every mask option's values. `buildMask` checks its options with these; the
// ticket config, the sweep axes and the command-line flags are built from them, so a range such as
// the pruning rate's is written here and nowhere else.

/** The pruning rate: the fraction of prunable weights removed, in [0, 1) (0.6 keeps 40 %). */
export const pruningRateSchema = z
  .number()
  .min(0)
  .lt(1)
  .meta({ description: 'fraction of weights removed, in [0, 1)' });

/** One threshold over all scored weights, or one per tensor. */
export const maskScopeSchema = z
  .enum(['global', 'local'])
  .meta({ description: 'one threshold over all weights, or one per tensor' });

/** How the kept fraction shrinks over the rounds. */
export const maskScheduleSchema = z
  .enum(['one-shot', 'linear', 'exponential'])
  .meta({ description: 'pruning schedule over the rounds' });

/** Scoring rounds of the schedule (a guard against typos at 1000). */
export const roundsSchema = z.number().int().min(1).max(1000).meta({ description: 'scoring rounds of the schedule' });
