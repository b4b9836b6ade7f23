import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Report, ReportFormat } from '@grokking-tickets/report';

// Loaded when a report is written: Vega and Vega-Lite cost every other command ~0.2 s of start-up.
const reportLib = () => import('@grokking-tickets/report');
import { RunStore } from '@grokking-tickets/run-store';
import { EXIT } from '../errors.js';
import { stringFlag } from '../flags.js';
import { examples, printJson } from '../common.js';

/** What writing a report produced, for the commands' output. */
export interface WrittenReport {
  file: string;
  files: string[];
  format: ReportFormat;
  runs: string[];
  /** Names of the sweeps drawn from their results (sweep folders). */
  sweeps: string[];
  skipped: Array<{ path: string; reason: string }>;
  seconds: number;
}

function summaryOf(report: Report, files: string[], format: ReportFormat, started: number): WrittenReport {
  return {
    file: files[0]!,
    files,
    format,
    runs: report.data.runs.map((r) => r.name),
    sweeps: report.data.sweeps.map((s) => s.name),
    skipped: report.data.skipped,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/**
 * Writes `<dir>/report.html` for a run or experiment folder that a command has just finished
 * (`train --report`, `ticket --report`, `demo`), holding the folder's lock while it writes.
 */
export async function reportInto(dir: string, command: string): Promise<WrittenReport> {
  const started = performance.now();
  const { createReport, writeReport } = await reportLib();
  const report = await createReport([dir]);
  const lock = new RunStore(dir).lock(command);
  try {
    return summaryOf(report, writeReport(report, path.join(dir, 'report.html'), 'html'), 'html', started);
  } finally {
    lock.release();
  }
}

/** Prints what a report left out (stderr) and where it is (stdout). */
export function printReport(written: WrittenReport, quiet = false): void {
  for (const s of written.skipped) process.stderr.write(`report: skipped ${s.reason}\n`);
  if (!quiet) process.stdout.write(`report: ${written.file}\n`);
}

interface ReportFlags {
  out?: string;
  format?: ReportFormat;
  title?: string;
  baseline?: string;
  json?: boolean;
  quiet?: boolean;
}

async function report(folders: string[], opts: ReportFlags): Promise<number> {
  const started = performance.now();
  const { createReport, formatOf, writeReport } = await reportLib();
  const format = opts.format ?? (opts.out ? formatOf(opts.out) : 'html');
  const out = opts.out ?? (format === 'md' ? 'report.md' : 'report.html');
  const built = await createReport(folders, { title: opts.title, baseline: opts.baseline });
  const written = summaryOf(built, writeReport(built, out, format), format, started);
  if (opts.json) {
    printJson(written);
    return EXIT.ok;
  }
  for (const s of written.skipped) process.stderr.write(`report: skipped ${s.reason}\n`);
  if (!opts.quiet) {
    const what = [
      ...written.sweeps.map((s) => `sweep ${s}`),
      ...(written.runs.length
        ? [`${written.runs.length} run${written.runs.length === 1 ? '' : 's'} (${written.runs.join(', ')})`]
        : []),
    ];
    process.stderr.write(`report: ${what.join(' and ')} in ${written.seconds.toFixed(1)} s\n`);
  }
  process.stdout.write(`${written.file}\n`);
  return EXIT.ok;
}

/** Registers `grokking-tickets report`. */
export function registerReport(program: Command, exit: (code: number) => void): void {
  const cmd = program
    .command('report')
    .summary('draw runs, experiments and sweeps into one report')
    .description(
      'Write one self-contained report.html (opens offline: inline SVG and CSS, no script) of run folders, ticket experiment folders, sweep folders, or a list of them mixed. Runs and experiments: accuracy and loss on a log step axis with the 95 % points, norms, frequency entropy and Gini over time, the final Fourier spectrum, a picture of each mask, and a summary table. A sweep folder (sweep.json and sweep-results.jsonl, as `sweep` writes them) is drawn from its results: speed-up over dense and final test accuracy against the pruning rate with a band over seeds, steps to generalise per arm, the critical pruning rate r* per seed, and a summary per point group. --format md writes Markdown with SVG files beside it. Folders and result lines that cannot be read are skipped and listed with the file and line at fault.',
    )
    .argument('<folders...>', 'run, experiment or sweep folders')
    .addOption(
      new Option('--out <file>', 'output file (default: report.html, or report.md with --format md)').argParser(
        stringFlag('--out'),
      ),
    )
    .addOption(
      new Option(
        '--format <format>',
        'html: one self-contained file; md: Markdown + SVG files beside it (default: from --out, else html)',
      ).choices(['html', 'md']),
    )
    .addOption(
      new Option('--title <text>', 'report title (default: from the folders)').argParser(stringFlag('--title')),
    )
    .addOption(
      new Option(
        '--baseline <run>',
        "run that speed-ups are measured against (default: an experiment's dense arm)",
      ).argParser(stringFlag('--baseline')),
    )
    .option('--quiet', 'print only the report path')
    .option('--json', 'print what was written as JSON on stdout');
  examples(cmd, [
    'grokking-tickets report runs/ticket-s0',
    'grokking-tickets report runs/dense-s0 runs/dense-s1 --out runs/dense.html',
    'grokking-tickets report runs/ticket-s0 --format md --out docs/ticket-report.md',
    'grokking-tickets report sweeps/tiny-rates --out sweeps/tiny-rates/report.html',
  ]);
  cmd.action(async (folders: string[], opts: ReportFlags) => exit(await report(folders, opts)));
}
