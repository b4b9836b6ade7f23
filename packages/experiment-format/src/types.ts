/** An input a reader left out, and why (one line naming the file and line at fault). */
export interface SkippedInput {
  path: string;
  reason: string;
}

/**
 * One row of a sweep's `sweep-results.jsonl` as a report reads it: the columns the sweep figures and
 * tables rely on (written by `grokking-tickets sweep`; the full list is in the root README's
 * "Sweeps" section). Other columns are ignored, so a results file with more columns still reads.
 * Metrics of a run that has not finished are null.
 */
export interface SweepResultRow {
  /** The run's id: its config hash (`train`, `dense-source`, a mask-free dense arm) or `<experiment>-<arm>`. */
  runId: string;
  /** `train` (a plain run of a train sweep), `dense-source` (the dense run tickets are pruned from) or `arm`. */
  role: string;
  /** The arm (`ticket`, `dense`, `random`, ...) for role `arm`, else null. */
  arm: string | null;
  /** `finished`, `failed`, `interrupted` or `pending`. */
  status: string;
  /** One-line error of a failed run. */
  error: string | null;
  /** Indexes of the grid points (in `sweep.json`) the run belongs to; a shared run serves several. */
  points: number[];
  /** The seed of the run (in a ticket sweep, its dense run's). */
  seed: number;
  /** Steps of the run (the retraining steps of an arm). */
  steps: number;
  /** Ticket settings: null for plain runs and for the mask-free dense arm. */
  pruner: string | null;
  pruningRate: number | null;
  fromStep: number | 'final' | null;
  /** λ the arm was retrained with (null for plain runs); λ of the dense run. */
  retrainWeightDecay: number | null;
  weightDecay: number;
  /** First evaluated step with test accuracy ≥ 0.95 (null: not reached, or not finished). */
  stepsToTest95: number | null;
  /** The same for the experiment's dense arm (else its dense run); null when it never got there. */
  denseStepsToTest95: number | null;
  /** denseStepsToTest95 / stepsToTest95, null when either is null. */
  speedupVsDense: number | null;
  /** Test accuracy at the last step. */
  finalTestAcc: number | null;
  /** The run folder, relative to the sweep folder. */
  dir: string;
  /** Where the row came from: its 1-based line in `sweep-results.jsonl`. */
  line: number;
}

/** A point of a sweep's grid: its index and the value of every axis (a variant by its name). */
export interface SweepPointValues {
  index: number;
  axes: Record<string, string | number>;
  label: string;
}

/** A sweep folder as a reader sees it: the resolved sweep from `sweep.json` and its result rows. */
export interface SweepFolder {
  /** The sweep's name (a report makes it unique within the report). */
  name: string;
  /** The sweep folder as shown to people. */
  dir: string;
  description: string | null;
  /** `ticket` (ticket experiments) or `train` (plain runs). */
  kind: string;
  /** The axes in file order (the first outermost), values as in the file (variants by name). */
  axes: Array<{ name: string; values: Array<string | number> }>;
  points: SweepPointValues[];
  /** Every row that could be read, in file order (damaged lines are listed in `skipped`). */
  rows: SweepResultRow[];
  /** `sweep-results.jsonl` as shown to people. */
  resultsFile: string;
}
