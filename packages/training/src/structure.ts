import {
  magnitudeMask,
  maskStats,
  randomMaskDistance,
  structuralChange,
  structureRow,
  type MaskArrays,
  type StructuralChange,
  type StructureRow,
} from '@grokking-tickets/grokking-metrics';
import {
  maskGraphMetrics,
  mlpNetwork,
  mnistMlpNetwork,
  type LayeredNetwork,
  type MaskGraphMetrics,
} from '@grokking-tickets/mask-graph';
import { SeededRandom, type NamedArrays } from '@grokking-tickets/models';
import type { TrainConfig } from './config.js';

/** Identifies `structure.json` (and its version) to readers such as the report. */
export const STRUCTURE_FORMAT = 'grokking-tickets/structure@1';
/** Identifies `graph.json`. */
export const GRAPH_FORMAT = 'grokking-tickets/mask-graph@1';

/** One row of `structure.json`: a checkpoint's ticket against the final ticket and the previous one. */
export type StructureFileRow = { checkpoint: string } & StructureRow;

/**
 * The content of `<run>/structure.json`, written by `analyzeRun` for a dense run (a run without masks): the
 * structural dynamics of spec E4 / E11 part A. Each checkpoint's ticket is its global magnitude mask at
 * `ticket.pruningRate` (the grokking ticket's rule); `rows` give, per checkpoint, the Jaccard distance of its
 * ticket to the final ticket and to the previous checkpoint's ticket (whole network and per tensor) and the
 * weight sparsity #{|w| < k·max|w|} / N; `change` sets the largest change next to the steps at which test
 * accuracy reaches 50 % and 95 % (see `structuralChange` in @grokking-tickets/grokking-metrics).
 */
export interface StructureFile {
  format: typeof STRUCTURE_FORMAT;
  ticket: { pruner: 'magnitude'; scope: 'global'; pruningRate: number; tensors: string[] };
  /** The checkpoint whose ticket is "the final ticket" (`final`, or the last one of an unfinished run). */
  final: { checkpoint: string; step: number };
  /** 1 − κ/(2 − κ): the Jaccard distance of two independent random masks keeping κ = 1 − pruningRate. */
  randomDistance: number;
  sparsity: { relativeThreshold: number; definition: string };
  rows: StructureFileRow[];
  change: StructuralChange;
}

/** One mask measured in `graph.json`. */
export type GraphFileEntry = {
  /** `grokking ticket`, `memorisation ticket`, `random (per-tensor counts)`, `random (uniform)`, or `run mask`. */
  name: string;
  /** Where the mask comes from, one line. */
  source: string;
  /** The checkpoint step it was made from (null for random masks and a masked run's own mask). */
  step: number | null;
  kept: number;
  keptFraction: number;
  /** Wall time of the graph metrics, seconds. */
  seconds: number;
} & MaskGraphMetrics;

/**
 * The content of `<run>/graph.json`, written by `analyzeRun`: the network of the run's model as a graph
 * (units as nodes, kept weights as edges; `network` lists the layers and tensors) and the graph metrics of
 * each mask (see @grokking-tickets/mask-graph for the definitions: average shortest-path length, mean square
 * clustering and Robins–Alexander clustering, all over the largest connected component).
 */
export interface GraphFile {
  format: typeof GRAPH_FORMAT;
  network: LayeredNetwork;
  masks: GraphFileEntry[];
}

/** The layered network of a run's model, or null when the model is not a plain feed-forward stack. */
export function networkOf(config: TrainConfig): LayeredNetwork | null {
  const m = config.model as Record<string, unknown>;
  if (m.kind === 'mlp')
    return mlpNetwork({
      vocab: Number(m.vocab),
      dEmb: Number(m.dEmb),
      dModel: Number(m.dModel),
      hiddenLayers: Number(m.hiddenLayers ?? 0),
    });
  if (m.kind === 'mnist-mlp')
    return mnistMlpNetwork({ inputDim: Number(m.inputDim), width: Number(m.width), classes: Number(m.classes) });
  return null;
}

/**
 * A random mask with the kept counts of `mask`: `perTensor` permutes each tensor's entries (same count per
 * tensor), otherwise the entries of all tensors together are permuted (same total, uniform over the
 * network). Fisher–Yates with the models package's seeded generator.
 */
export function randomLike(mask: NamedArrays, seed: number, perTensor: boolean): MaskArrays {
  const names = Object.keys(mask);
  const shuffle = (a: Float32Array, rng: SeededRandom) => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  };
  if (perTensor)
    return Object.fromEntries(
      names.map((n) => {
        const a = Float32Array.from(mask[n]!);
        shuffle(a, new SeededRandom(seed, `graph-random/${n}`));
        return [n, a];
      }),
    );
  const sizes = names.map((n) => mask[n]!.length);
  const all = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  for (const n of names) {
    all.set(mask[n]!, offset);
    offset += mask[n]!.length;
  }
  shuffle(all, new SeededRandom(seed, 'graph-random/all'));
  offset = 0;
  return Object.fromEntries(
    names.map((n, i) => {
      const a = all.slice(offset, offset + sizes[i]!);
      offset += sizes[i]!;
      return [n, a];
    }),
  );
}

/** Measures one mask for `graph.json`. */
export function graphEntry(
  name: string,
  source: string,
  step: number | null,
  mask: NamedArrays,
  network: LayeredNetwork,
): GraphFileEntry {
  const t0 = performance.now();
  const metrics = maskGraphMetrics(mask, network);
  const seconds = (performance.now() - t0) / 1000;
  const s = maskStats(mask);
  return { name, source, step, kept: s.kept, keptFraction: s.keptFraction, seconds, ...metrics };
}

/**
 * Streams the structural dynamics of a dense run checkpoint by checkpoint (in step order), so that only the
 * final and the previous ticket are kept in memory; `finish` adds the change analysis.
 */
export class StructureTracker {
  readonly rows: StructureFileRow[] = [];
  private previous: { step: number; mask: MaskArrays } | null = null;
  /** Tickets kept by step for the graph metrics (only the steps asked for). */
  readonly kept = new Map<number, MaskArrays>();

  constructor(
    readonly final: { checkpoint: string; step: number; mask: MaskArrays },
    readonly pruningRate: number,
    readonly tensors: string[],
    readonly relativeThreshold: number,
    private readonly keep: (step: number) => boolean = () => false,
  ) {}

  /** Adds a checkpoint; returns its row. */
  add(checkpoint: string, step: number, weights: NamedArrays): StructureFileRow {
    const mask = magnitudeMask(weights, this.pruningRate, this.tensors);
    const row = {
      checkpoint,
      ...structureRow({
        step,
        weights,
        mask,
        previous: this.previous,
        final: this.final.mask,
        sparsity: { relativeThreshold: this.relativeThreshold },
      }),
    };
    this.rows.push(row);
    this.previous = { step, mask };
    if (this.keep(step)) this.kept.set(step, mask);
    return row;
  }

  /** The whole file, with the structural change measured against the run's metrics rows. */
  finish(metrics: ReadonlyArray<{ step: number }>, after?: number): StructureFile {
    return {
      format: STRUCTURE_FORMAT,
      ticket: { pruner: 'magnitude', scope: 'global', pruningRate: this.pruningRate, tensors: this.tensors },
      final: { checkpoint: this.final.checkpoint, step: this.final.step },
      randomDistance: randomMaskDistance(1 - this.pruningRate),
      sparsity: {
        relativeThreshold: this.relativeThreshold,
        definition: 'fraction of the weights w with |w| < k·max|w| (max over all the listed tensors; W ⊙ M)',
      },
      rows: this.rows,
      change: structuralChange(this.rows, metrics, after === undefined ? {} : { after }),
    };
  }
}
