import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { BACKENDS, analyzeRun, type TrainConfig } from '@grokking-tickets/training';
import { CliError, EXIT } from '../errors.js';
import { examples, printJson } from '../common.js';

interface AnalyzeFlags {
  backend?: TrainConfig['backend'];
  json?: boolean;
  quiet?: boolean;
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
  const results: Array<{ dir: string; file: string | null; checkpoints: number; error?: string }> = [];
  for (const dir of folders.flatMap(runFolders)) {
    try {
      const r = await analyzeRun(dir, {
        backend: opts.backend,
        onCheckpoint: (row, i, n) => {
          if (!opts.quiet && !opts.json) process.stderr.write(`analyze: ${dir} ${row.checkpoint} (${i + 1}/${n})\n`);
        },
      });
      results.push({ dir, file: r.file, checkpoints: r.rows.length });
      if (!opts.json) process.stdout.write(`${r.file} (${r.rows.length} checkpoints)\n`);
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
    .summary("compute the Fourier analysis of a finished run's checkpoints")
    .description(
      'Compute, for every checkpoint of a run folder (init, step-NNNNNN, final), the analysis a training run logs every --analysis-every steps (frequency entropies, Gini, key frequencies, restricted/excluded loss for (a+b) mod p, mask statistics) and write it to <run>/analysis.jsonl, so that runs trained without it can be reported. An experiment folder stands for its arms and dense run.',
    )
    .argument('<folders...>', 'run folders (or ticket experiment folders)')
    .addOption(
      new Option('--backend <name>', "tfjs backend for the logits (default: the run's)").choices([...BACKENDS]),
    )
    .option('--quiet', 'no progress output')
    .option('--json', 'print the files written as JSON on stdout');
  examples(cmd, [
    'grokking-tickets analyze runs/dense-s0',
    'grokking-tickets analyze runs/ticket-s0 && grokking-tickets report runs/ticket-s0',
  ]);
  cmd.action(async (folders: string[], opts: AnalyzeFlags) => exit(await analyze(folders, opts)));
}
