import type { StoredRow } from '@grokking-tickets/run-store';

/** Tensors by parameter name as plain float32 arrays. */
export type Float32Arrays = Record<string, Float32Array>;

/** One run as a report sees it: everything read from its folder, verified. */
export interface ReportRun {
  /** Display name, unique within a report (an arm's name, or the folder's name). */
  name: string;
  /** The folder as shown to people (relative to the working directory when inside it). */
  dir: string;
  /** The experiment (or other group) it belongs to, or null for a run given on its own. */
  group: string | null;
  /** Its arm in a ticket experiment (`ticket`, `dense`, ...), `dense-source`, or null. */
  arm: string | null;
  /** The resolved training config stored in `config.json`. */
  config: Record<string, unknown>;
  /** Model kind (`mlp`, `transformer`, `mnist-mlp`). */
  model: string;
  /** Planned updates and evaluation interval. */
  steps: number;
  evalEvery: number;
  /** True when `summary.json` exists (the run finished). */
  finished: boolean;
  /** Every metrics row, in step order. */
  rows: StoredRow[];
  /** Rows carrying the Fourier analysis (`freq_entropy_in`, ...), and where they came from. */
  analysis: StoredRow[];
  analysisSource: 'metrics.jsonl' | 'analysis.jsonl' | null;
  /** The last checkpoint (`final`, else the latest `step-NNNNNN`) and its step. */
  lastCheckpoint: string;
  lastStep: number;
  /** Its weights, verified by checksum, config hash, shapes and finiteness. */
  weights: Float32Arrays;
  /** The run's fixed masks (from its `init` checkpoint), or null for a dense run. */
  masks: Float32Arrays | null;
  /** Parameter shapes from `config.json`. */
  shapes: Record<string, number[]>;
  /** Things worth saying about the inputs (a line cut short, an unfinished run), one line each. */
  notes: string[];
  /** The structural dynamics from `structure.json` (`grokking-tickets analyze`), if the run has one. */
  structure?: ReportStructure | null;
  /** The graph metrics of its masks from `graph.json`, if the run has one. */
  graph?: ReportGraphMask[] | null;
}

/** Runs that belong together (a ticket experiment), reported side by side. */
export interface ReportGroup {
  /** The folder's name, or another label. */
  name: string;
  /** Source kind that loaded it (`ticket-experiment`, ...). */
  kind: string;
  dir: string;
  /** One line describing it (pruner, pruning rate, scored checkpoint, ...). */
  description: string;
  /** Names of its runs, in order. */
  runs: string[];
  /** Name of the run speed-ups are measured against (the dense network), or null. */
  baseline: string | null;
}

/** An input the report left out, and why (one line naming the file and line at fault). */
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

/** A sweep folder as a report sees it: the resolved sweep from `sweep.json` and its result rows. */
export interface ReportSweep {
  /** The sweep's name (unique within a report). */
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

/** Everything a report is made from. */
export interface ReportData {
  title: string;
  runs: ReportRun[];
  groups: ReportGroup[];
  /** Sweep folders: drawn from their results files (their runs are not loaded one by one). */
  sweeps: ReportSweep[];
  skipped: SkippedInput[];
  /** The run that runs outside any group are compared with (speed-ups), or null. */
  baseline: string | null;
}

/** One checkpoint of a run's `structure.json` (written by `grokking-tickets analyze`), as the report reads it. */
export interface ReportStructureRow {
  checkpoint: string;
  step: number;
  previousStep: number | null;
  distanceToFinal: number;
  distanceToFinalPerTensor: Record<string, number>;
  distanceFromPrevious: number | null;
  distanceFromPreviousPerTensor: Record<string, number> | null;
  sparsity: number;
  sparsityPerTensor: Record<string, number>;
}

/** The parts of `structure.json` the report draws. */
export interface ReportStructure {
  pruningRate: number;
  relativeThreshold: number;
  randomDistance: number;
  final: { checkpoint: string; step: number };
  rows: ReportStructureRow[];
  change: {
    after: number;
    largestChange: { from: number; to: number; distance: number; ratePer1k: number } | null;
    testAcc50: number | null;
    testAcc95: number | null;
    lag50: number | null;
    lag95: number | null;
    correlation: number | null;
  };
}

/** One mask of a run's `graph.json`, as the report reads it. */
export interface ReportGraphMask {
  name: string;
  source: string;
  kept: number;
  keptFraction: number;
  units: number;
  activeUnits: number;
  largestComponent: { units: number; edges: number };
  averageShortestPath: number | null;
  squareClustering: number | null;
  robinsAlexanderClustering: number | null;
}
