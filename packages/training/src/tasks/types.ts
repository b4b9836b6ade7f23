import type { Batch } from '@grokking-tickets/models';
import type { z } from 'zod';

/** Options of a task as they appear in a run's config (`name` selects the registered task). */
export type TaskConfig = { name: string } & Record<string, string | number | boolean>;

/** Training and test data for one task, ready for a model's `prepare`. */
export interface TaskData {
  train: Batch;
  test: Batch;
  numClasses: number;
  /** Extra arrays a run should store to be reproducible (e.g. the `rand` op's table). */
  artifacts: Record<string, Int32Array>;
}

/** A task in the registry: its options (a strict schema with defaults) and a loader. */
export interface TaskDefinition {
  name: string;
  description: string;
  /** The task's options without `name`: a strict zod object whose defaults fill what is not given. */
  options(): z.ZodType<Record<string, string | number | boolean>>;
  /** The model family, number of steps and weight decay the paper pairs with this task. */
  defaultModel: string;
  defaultSteps: number;
  defaultWeightDecay: number;
  /** The kind of batch the task produces; the model must read it. */
  input: 'pairs' | 'images';
  /** Model options implied by the task (e.g. vocab = p), applied unless the user sets them. */
  modelOptions(config: TaskConfig): Record<string, number>;
  /** Number of examples (train + test) and classes, for the memory estimate; cheap, no data loaded. */
  size(config: TaskConfig): { examples: number; classes: number };
  /** Loads data; `seed` is the run seed (the reference's only seed, used for the split). */
  load(config: TaskConfig, seed: number): TaskData;
}
