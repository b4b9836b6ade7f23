import type { SkippedInput, SweepFolder as ReportSweep } from '@grokking-tickets/experiment-format';
import type { StoredRow } from '@grokking-tickets/run-store';
import type { TopLevelSpec } from 'vega-lite';

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

export type {
  SkippedInput,
  SweepFolder as ReportSweep,
  SweepPointValues,
  SweepResultRow,
} from '@grokking-tickets/experiment-format';
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

/** One figure of a report: a Vega-Lite spec with its title and caption. */
export interface Figure {
  /** Stable identifier, used for file names (`accuracy`, `mask-ticket`, `sweep-e3-speedup`, ...). */
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
  /** The part of the report it belongs to: `sweep:<name>` for a sweep's figures; absent for the runs'. */
  section?: string;
}

/** A table of a report: a title, a caption, a header and rows of plain strings (escaped on output). */
export interface ReportTable {
  id: string;
  title: string;
  caption: string;
  header: string[];
  rows: string[][];
  /** The part of the report it belongs to: `sweep:<name>` for a sweep's tables; absent for the runs'. */
  section?: string;
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
