import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { createModel, toReferenceStateDict } from '@grokking-tickets/models';
import { RunStore, encodeSafetensors, writeFileAtomic, type StoredTensor } from '@grokking-tickets/run-store';
import { configHash, resolveTrainConfig, type TrainConfig } from '@grokking-tickets/training';
import { CliError, EXIT, UsageError } from '../errors.js';
import { stringFlag } from '../flags.js';
import { examples, printJson } from '../common.js';

interface ExportFlags {
  to: string;
  checkpoint: string;
  out?: string;
  json?: boolean;
}

/** The Python lines that load an exported file into the reference model. */
export function referenceLoadSnippet(constructor: string, file: string): string {
  return [
    'from safetensors.torch import load_file   # pip install safetensors; run inside a clone of gouki510/Grokking-Tickets',
    `from model import ${constructor.slice(0, constructor.indexOf('('))}`,
    `model = ${constructor}; model.load_state_dict(load_file(${JSON.stringify(file)}))`,
  ].join('\n');
}

async function exportRun(dir: string, opts: ExportFlags): Promise<number> {
  if (opts.to !== 'reference') throw new UsageError(`--to must be "reference", got ${JSON.stringify(opts.to)}`);
  const store = new RunStore(dir);
  if (!store.exists()) throw new CliError(`${dir} holds no run (no config.json)`);
  const record = store.readRecord<TrainConfig>();
  const config = resolveTrainConfig(record.config);
  const model = createModel(
    config.model.kind,
    Object.fromEntries(Object.entries(config.model).filter(([k]) => k !== 'kind')),
  );
  const expect = {
    configHash: configHash(config),
    shapes: Object.fromEntries(model.params.map((p) => [p.name, p.shape])),
  };
  const names = store.checkpointNames();
  if (!names.includes(opts.checkpoint))
    throw new CliError(`${dir} has no checkpoint "${opts.checkpoint}" (available: ${names.join(', ') || 'none'})`);
  const { weights } = await store.loadWeights(opts.checkpoint, expect);
  const { masks } = await store.loadWeights('init', expect);
  const sd = toReferenceStateDict(model, weights, masks);
  const tensors: Record<string, StoredTensor> = Object.fromEntries(
    Object.entries(sd).map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: t.data }]),
  );
  const out = opts.out ?? path.join(dir, 'export', `${opts.checkpoint}.reference.safetensors`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(
    out,
    encodeSafetensors(tensors, {
      format: 'pt',
      source: `grokking-tickets run ${record.configHash}, checkpoint ${opts.checkpoint}`,
    }),
  );
  const layout = (await import('@grokking-tickets/models')).getModelDefinition(model.kind).referenceLayout!(
    model.config,
  );
  if (opts.json)
    printJson({ file: out, checkpoint: opts.checkpoint, keys: Object.keys(sd), constructor: layout.constructor });
  else
    process.stdout.write(
      `wrote ${out} (${Object.keys(sd).length} tensors, the reference's state_dict names)\nload it into the reference model with:\n${referenceLoadSnippet(layout.constructor, out)}\n`,
    );
  return EXIT.ok;
}

/** Registers `grokking-tickets export`. */
export function registerExport(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('export')
    .summary("write a run's weights and masks under the reference implementation's names")
    .description(
      "Write a checkpoint of a run as a safetensors file whose keys are the reference implementation's PyTorch state_dict keys (gouki510/Grokking-Tickets, model.py: OnlyMLP, Transformer, MnistMLP), masks included, so that load_state_dict loads it as it is.",
    )
    .argument('<run>', 'run folder')
    .addOption(
      new Option('--to <format>', 'target: reference (the only one)')
        .default('reference')
        .argParser(stringFlag('--to')),
    )
    .addOption(
      new Option('--checkpoint <name>', 'checkpoint to export: final, init or step-NNNNNN')
        .default('final')
        .argParser(stringFlag('--checkpoint')),
    )
    .addOption(
      new Option('--out <file>', 'output file (default: <run>/export/<checkpoint>.reference.safetensors)').argParser(
        stringFlag('--out'),
      ),
    )
    .option('--json', 'print the result as JSON on stdout');
  examples(cmd, [
    'grokking-tickets export runs/demo/arms/ticket --to reference',
    'grokking-tickets export runs/dense-s0 --checkpoint step-002000 --out mem.safetensors',
  ]);
  cmd.action(async (dir: string, opts: ExportFlags) => exit(await exportRun(dir, opts)));
}
