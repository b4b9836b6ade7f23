import os from 'node:os';
import { Option, type Command } from 'commander';
import { BACKENDS, BENCH_CASES, benchmarkStep } from '@grokking-tickets/training';
import { EXIT, UsageError } from '../errors.js';
import { intFlag } from '../flags.js';
import { examples, printJson } from '../common.js';

interface BenchFlags {
  model?: string;
  steps: number;
  warmup: number;
  backend: 'auto';
  quiet?: boolean;
}

async function bench(opts: BenchFlags): Promise<number> {
  const models = opts.model ? [opts.model] : BENCH_CASES.map((c) => c.model);
  const results = [];
  for (const kind of models) {
    const c = BENCH_CASES.find((x) => x.model === kind);
    if (!c)
      throw new UsageError(`bench: unknown model "${kind}" (known: ${BENCH_CASES.map((x) => x.model).join(', ')})`);
    if (!opts.quiet) process.stderr.write(`bench: ${kind} ...\n`);
    results.push(
      await benchmarkStep(c.model, c.task, { backend: opts.backend, steps: opts.steps, warmup: opts.warmup }),
    );
  }
  printJson({ date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', results });
  return EXIT.ok;
}

/** Registers `grokking-tickets bench`. */
export function registerBench(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('bench')
    .summary('time one full-batch training step of each model; prints JSON')
    .description(
      "Time full-batch AdamW training steps of each paper model on the active backend (median and 10th–90th percentile) and print them as JSON. The repository's `npm run bench` adds PyTorch and throughput in the same run.",
    )
    .addOption(new Option('--model <kind>', 'only this model (mlp, transformer, mnist-mlp)'))
    .addOption(new Option('--steps <n>', 'timed steps per model').default(200).argParser(intFlag('--steps', 1)))
    .addOption(new Option('--warmup <n>', 'untimed steps first').default(20).argParser(intFlag('--warmup', 0)))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...BACKENDS]).default('auto'))
    .option('--quiet', 'no progress lines')
    .option('--json', 'print JSON (the default and only output)');
  examples(cmd, ['grokking-tickets bench --model mlp --steps 100']);
  cmd.action(async (opts: BenchFlags) => exit(await bench(opts)));
}
