import { listModularOps, modularArithmetic } from '@grokking-tickets/datasets';
import type { Batch } from '@grokking-tickets/models';
import { z } from 'zod';
import type { TaskDefinition } from './types.js';

/** Modular arithmetic (a op b) mod p on token pairs, with the reference's split. */
export const modularTask: TaskDefinition = {
  name: 'modular',
  description: 'Modular arithmetic (a op b) mod p on token pairs, the reference split (protocol §2)',
  options: () =>
    z.strictObject({
      op: z
        .enum(listModularOps() as [string, ...string[]])
        .meta({ description: 'modular operation' })
        .default('add'),
      p: z.number().int().min(2).max(46340).meta({ description: 'modulus p' }).default(67),
      trainFraction: z.number().gt(0).lt(1).meta({ description: 'fraction of pairs used for training' }).default(0.4),
      symmetric: z
        .boolean()
        .meta({
          description: "the paper's pairs a <= b only",
          negated: "all p² ordered pairs instead of the paper's pairs a <= b",
        })
        .default(true),
    }),
  defaultModel: 'mlp',
  defaultSteps: 30000,
  defaultWeightDecay: 1,
  input: 'pairs',
  modelOptions: (config) => ({ vocab: Number(config.p) }),
  size: (config) => {
    const p = Number(config.p);
    return { examples: config.symmetric ? (p * (p + 1)) / 2 : p * p, classes: p };
  },
  load(config, seed) {
    const ds = modularArithmetic({
      op: String(config.op),
      p: Number(config.p),
      trainFraction: Number(config.trainFraction),
      seed,
      symmetric: Boolean(config.symmetric),
    });
    const batch = (s: typeof ds.train): Batch => ({ kind: 'pairs', a: s.a, b: s.b, labels: s.labels });
    const artifacts: Record<string, Int32Array> = {};
    if (ds.table) artifacts.rand_table = ds.table;
    return {
      train: batch(ds.train),
      test: batch(ds.test),
      numClasses: ds.numClasses,
      artifacts,
    };
  },
};
