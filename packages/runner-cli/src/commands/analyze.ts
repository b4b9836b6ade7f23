import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKENDS, analyzeRun, type TrainConfig } from '@grokking-tickets/training';
import { CliError, EXIT } from '../errors.js';
import { examples, printJson } from '../common.js';
import { intFlag, numberFlag } from '../flags.js';

interface AnalyzeFlags {
  backend?: TrainConfig['backend'];
  json?: boolean;
  quiet?: boolean;
  pruningRate?: number;
  sparsityThreshold?: number;
  memorizationStep?: number;
  changeAfter?: number;
  graph?: boolean;
}

/** A decimal flag in [lo, hi) (or [lo, hi] with `closed`): a usage error (exit 2) outside it. */
function rangeFlag(flag: string, lo: number, hi: number, closed = false) {
  return (value: string): number => {
    const n = numberFlag(flag)(value);
    if (!(n >= lo && (closed ? n <= hi : n < hi)))
      throw new InvalidArgumentError(`${flag} must be in [${lo}, ${hi}${closed ? ']' : ')'}, got ${n}.`);
    return n;
  };
}

/** The run folders a folder stands for: itself, or an experiment's arms and dense source. */
function runFolders(dir: string): string[] {
  if (!fs.existsSync(path.join(dir, 'ticket.json'))) return [dir];
  const arms = path.join(dir, 'arms');
  const out = fs.existsSync(arms)
    ? fs
        .readdirSync(arms)
        .sort()
        .map((a) => path.join(arms, a))
    : [];
  if (fs.existsSync(path.join(dir, 'dense-source'))) out.push(path.join(dir, 'dense-source'));
  return out;
}

async function analyze(folders: string[], opts: AnalyzeFlags): Promise<number> {
  const results: Array<{
    dir: string;
    file: string | null;
    checkpoints: number;
    structure?: string | null;
    graph?: string | null;
    error?: string;
  }> = [];
  const progress = (line: string) => {
    if (!opts.quiet && !opts.json) process.stderr.write(`analyze: ${line}\n`);
  };
  for (const dir of folders.flatMap(runFolders)) {
    try {
      const r = await analyzeRun(dir, {
        backend: opts.backend,
        pruningRate: opts.pruningRate,
        sparsityThreshold: opts.sparsityThreshold,
        memorizationStep: opts.memorizationStep,
        changeAfter: opts.changeAfter,
        graph: opts.graph,
        onCheckpoint: (row, i, n) => progress(`${dir} ${row.checkpoint} (${i + 1}/${n})`),
        onGraph: (name) => progress(`${dir} graph metrics of the ${name}`),
      });
      results.push({ dir, file: r.file, checkpoints: r.rows.length, structure: r.structureFile, graph: r.graphFile });
      if (!opts.json) {
        process.stdout.write(`${r.file} (${r.rows.length} checkpoints)\n`);
        const c = r.structure?.change;
        if (r.structureFile && c) {
          const big = c.largestChange;
          process.stdout.write(
            `${r.structureFile}: largest ticket change ${big ? `${big.from}→${big.to} (Jaccard distance ${big.distance.toFixed(3)})` : 'none'}; test accuracy ≥ 50 % at ${c.testAcc50 ?? '–'}, ≥ 95 % at ${c.testAcc95 ?? '–'}\n`,
          );
        }
        if (r.graphFile && r.graph)
          for (const m of r.graph.masks)
            process.stdout.write(
              `${r.graphFile}: ${m.name}: path length ${m.averageShortestPath.toFixed(4)}, square clustering ${m.squareClustering.toFixed(4)}, Robins–Alexander ${m.robinsAlexanderClustering.toFixed(4)} (${m.seconds.toFixed(1)} s)\n`,
            );
      }
    } catch (e) {
      // One folder's problem does not stop the others; the exit code says something failed.
      if (folders.length === 1 && runFolders(folders[0]!).length === 1) throw e;
      const message = (e as Error).message.split('\n')[0]!;
      results.push({ dir, file: null, checkpoints: 0, error: message });
      if (!opts.json) process.stderr.write(`grokking-tickets: error: ${message}\n`);
    }
  }
  if (opts.json) printJson(results);
  if (results.length === 0) throw new CliError(`no run folders in ${folders.join(', ')}`);
  return results.some((r) => r.error) ? EXIT.runtime : EXIT.ok;
}

/** Registers `grokking-tickets analyze`. */
export function registerAnalyze(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('analyze')
    .summary("compute the Fourier analysis, structural dynamics and graph metrics of a run's checkpoints")
    .description(
      "Compute, for every checkpoint of a run folder (init, step-NNNNNN, final), the analysis a training run logs every --analysis-every steps (frequency entropies, Gini, key frequencies, restricted/excluded loss for (a+b) mod p, mask statistics) and write it to <run>/analysis.jsonl, so that runs trained without it can be reported. For a dense run, also the structural dynamics in <run>/structure.json: the ticket (global magnitude mask at --pruning-rate) of every checkpoint, its Jaccard distance to the final ticket and to the previous checkpoint's, the weight sparsity, and the largest change next to the steps at which test accuracy reaches 50 % and 95 % (the resolution is the checkpoint interval: train with a finer --checkpoint-every for a finer trajectory). For MLP models, the graph metrics of the masks in <run>/graph.json (average shortest-path length, square and Robins–Alexander clustering): the grokking ticket, the memorisation ticket and two random masks of a dense run, or a masked run's own mask. An experiment folder stands for its arms and dense run.",
    )
    .argument('<folders...>', 'run folders (or ticket experiment folders)')
    .addOption(
      new Option('--backend <name>', "tfjs backend for the logits (default: the run's)").choices([...BACKENDS]),
    )
    .addOption(
      new Option('--pruning-rate <r>', 'pruning rate of the tickets taken at each checkpoint, in [0, 1)')
        .default(0.6)
        .argParser(rangeFlag('--pruning-rate', 0, 1)),
    )
    .addOption(
      new Option('--sparsity-threshold <k>', 'weight sparsity = fraction of |w| < k·max|w|, k in [0, 1]')
        .default(0.2)
        .argParser(rangeFlag('--sparsity-threshold', 0, 1, true)),
    )
    .addOption(
      new Option(
        '--memorization-step <n>',
        'checkpoint step of the memorisation ticket (default: the first checkpoint after train accuracy reaches 99 %, while test accuracy is below 50 %)',
      ).argParser(intFlag('--memorization-step', 0)),
    )
    .addOption(
      new Option(
        '--change-after <step>',
        'the largest structural change counts intervals from this step on (default: memorisation, train accuracy ≥ 99 %)',
      ).argParser(intFlag('--change-after', 0)),
    )
    .option('--no-graph', 'skip the graph metrics (graph.json)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the files written as JSON on stdout');
  examples(cmd, [
    'grokking-tickets analyze runs/dense-s0',
    'grokking-tickets analyze runs/ticket-s0 && grokking-tickets report runs/ticket-s0',
    'grokking-tickets analyze runs/dense-s0 --pruning-rate 0.6 --memorization-step 2000',
  ]);
  cmd.action(async (folders: string[], opts: AnalyzeFlags) => exit(await analyze(folders, opts)));
}
