import fs from 'node:fs';
import path from 'node:path';
import { ReportError, ReportInputError, ReportOptionError } from './errors.js';
import { displayPath, loadRunFolder, type RunLabel } from './runs.js';
import {
  FormatError,
  experimentFolders,
  loadSweepFolder,
  readTicketRecordFile,
  type TicketRecordFile,
} from '@grokking-tickets/experiment-format';
import { createRegistry, type Registry } from '@grokking-tickets/registry';
import type { ReportData, ReportGroup, ReportRun, ReportSweep, SkippedInput } from './types.js';

/** What a source kind gets to load its folder with. */
export interface SourceContext {
  /** The working directory paths are shown relative to. */
  cwd: string;
  /** Loads one run folder (throws a `ReportInputError` naming the file at fault). */
  loadRun(dir: string, label?: RunLabel): Promise<ReportRun>;
  /** A folder as people should see it. */
  display(dir: string): string;
}

/** What a source kind found in its folder: runs (grouped or not), a sweep, and the inputs it had to skip. */
export interface LoadedSource {
  group: Omit<ReportGroup, 'runs'> | null;
  runs: ReportRun[];
  /** A sweep drawn from its results files (the `sweep` kind), if the folder is one. */
  sweep?: ReportSweep | null;
  skipped: SkippedInput[];
}

/**
 * A kind of folder a report can read (a run, a ticket experiment, a sweep, ...): how to recognise
 * it and how to load it. Register new kinds with {@link registerSourceKind}.
 */
export interface SourceKind {
  /** Registry name, e.g. `ticket-experiment`. */
  name: string;
  /** The file that marks a folder of this kind, for messages (`ticket.json`). */
  marker: string;
  /** True when `dir` is a folder of this kind (cheap: look for the marker). */
  detect(dir: string): boolean;
  /** Loads the folder; a run that cannot be read goes to `skipped`, the others are reported. */
  load(dir: string, ctx: SourceContext): Promise<LoadedSource>;
}

/**
 * The kinds of input folder, by name, tried latest first (see {@link registerSourceKind}). A plug-in
 * adds kinds with `sourceKinds: [...]` in its default export.
 */
export const sourceKinds: Registry<SourceKind> = createRegistry<SourceKind>({
  kind: 'source kind',
  plural: 'sourceKinds',
  check: (k) =>
    typeof (k as SourceKind).name !== 'string' ||
    typeof (k as SourceKind).detect !== 'function' ||
    typeof (k as SourceKind).load !== 'function'
      ? 'a source kind needs a name, detect(dir) and load(dir, ctx)'
      : null,
  invalid: (problem) => new Error(problem),
});

/**
 * Adds a kind of input folder. Kinds are tried in registration order, latest first, so a later,
 * more specific kind (say, a folder of seeds that also holds a `config.json`) wins over the built-in
 * ones (`run`, `ticket-experiment`, `sweep`); registering a name again replaces that kind.
 *
 * @example
 * ```ts
 * registerSourceKind({
 *   name: 'seeds',
 *   marker: 'seeds.txt',
 *   detect: (dir) => fs.existsSync(path.join(dir, 'seeds.txt')),
 *   async load(dir, ctx) {
 * const runs = await Promise.all(fs.readdirSync(path.join(dir, 'runs')).map((r) => ctx.loadRun(path.join(dir, 'runs',
 * r), { group: 'seeds' })));
 * return { group: { name: 'seeds', kind: 'seeds', dir: ctx.display(dir), description: 'one config, several seeds',
 * baseline: null }, runs, skipped: [] };
 *   },
 * });
 * ```
 */
export function registerSourceKind(kind: SourceKind): void {
  sourceKinds.register(kind);
}

/** Names of the registered source kinds, in the order they are tried. */
export function listSourceKinds(): string[] {
  return sourceKinds.names().reverse();
}

const exists = (...parts: string[]) => fs.existsSync(path.join(...parts));
const skip = (p: string, e: unknown): SkippedInput => {
  if (e instanceof ReportInputError || e instanceof FormatError) return { path: p, reason: e.message };
  throw e;
};

registerSourceKind({
  name: 'run',
  marker: 'config.json',
  detect: (dir) => exists(dir, 'config.json'),
  async load(dir, ctx) {
    try {
      return { group: null, runs: [await ctx.loadRun(dir)], skipped: [] };
    } catch (e) {
      return { group: null, runs: [], skipped: [skip(ctx.display(dir), e)] };
    }
  },
});

/**
 * A ticket experiment folder (`ticket.json`, `arms/<arm>/`, `dense-source/` or the reused dense run
 * named in `ticket.json`, and a sweep's shared dense arm when it records one): every arm in the
 * experiment's order, and the dense source run when it is not itself the dense arm. Speed-ups are measured against the
 * `dense` arm (else the dense source).
 */
registerSourceKind({
  name: 'ticket-experiment',
  marker: 'ticket.json',
  detect: (dir) => exists(dir, 'ticket.json'),
  async load(dir, ctx) {
    const group = path.basename(path.resolve(dir));
    let record: TicketRecordFile;
    try {
      record = readTicketRecordFile(dir);
    } catch (e) {
      return { group: null, runs: [], skipped: [skip(ctx.display(dir), e)] };
    }
    const config = record.config;
    // Which folder holds each arm and the dense run: the one rule every writer follows.
    const folders = experimentFolders(dir, record, ctx.cwd);
    const runs: ReportRun[] = [];
    const skipped: SkippedInput[] = [];
    const tryLoad = async (runDir: string, label: RunLabel) => {
      try {
        runs.push(await ctx.loadRun(runDir, { group, ...label }));
      } catch (e) {
        skipped.push(skip(ctx.display(runDir), e));
      }
    };
    let denseIsArm = false;
    for (const { arm, dir: armDir, isDenseRun } of folders.arms) {
      if (armDir === null) {
        const missing = path.join(dir, 'arms', arm);
        skipped.push({
          path: ctx.display(missing),
          reason: `${ctx.display(missing)} does not exist (the arm has not run yet)`,
        });
        continue;
      }
      if (isDenseRun) denseIsArm = true;
      await tryLoad(armDir, { name: arm, arm });
    }
    const denseDir = folders.denseRun;
    if (!denseIsArm) {
      if (exists(denseDir)) await tryLoad(denseDir, { name: 'dense-source', arm: 'dense-source' });
      else
        skipped.push({
          path: ctx.display(denseDir),
          reason: `${ctx.display(denseDir)}: the experiment's dense run does not exist`,
        });
    }
    const names = runs.map((r) => r.name);
    const rate = typeof config.pruningRate === 'number' ? config.pruningRate : null;
    const from =
      config.fromStep === 'final' || config.fromStep === undefined ? 'final' : `step ${String(config.fromStep)}`;
    const retrain = (config.retrain ?? {}) as { weightDecay?: number };
    const description = [
      `pruner ${String(config.pruner ?? 'magnitude')} on the dense run's ${from} weights`,
      rate !== null ? `pruning rate ${rate} (keep ${+(1 - rate).toFixed(6)})` : null,
      `rewound to ${config.rewindStep === 'init' || config.rewindStep === undefined ? 'θ0' : `step ${String(config.rewindStep)}`}`,
      retrain.weightDecay !== undefined ? `retrained with weight decay ${retrain.weightDecay}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    return {
      group: {
        name: group,
        kind: 'ticket-experiment',
        dir: ctx.display(dir),
        description,
        baseline: names.includes('dense') ? 'dense' : names.includes('dense-source') ? 'dense-source' : null,
      },
      runs,
      skipped,
    };
  },
});

/**
 * A sweep folder (`sweep.json` and `sweep-results.jsonl`, written by `grokking-tickets sweep`): drawn
 * from its result rows (speed-up, steps to generalise and final test accuracy over the grid, the
 * critical pruning rate, a summary per point group). Its run folders are not loaded: a sweep can
 * hold hundreds of runs; report a run's folder to see its curves.
 */
registerSourceKind({
  name: 'sweep',
  marker: 'sweep.json',
  detect: (dir) => exists(dir, 'sweep.json'),
  async load(dir, ctx) {
    try {
      const { sweep, skipped } = loadSweepFolder(dir, ctx.display(dir));
      return { group: null, runs: [], sweep, skipped };
    } catch (e) {
      return { group: null, runs: [], skipped: [skip(ctx.display(dir), e)] };
    }
  },
});

/** Options of {@link loadReportData}. */
export interface LoadOptions {
  /** Report title (default: from the inputs). */
  title?: string;
  /** Name of the run speed-ups are measured against, overriding each group's own baseline. */
  baseline?: string;
  /** Paths are shown relative to this folder (default: the working directory). */
  cwd?: string;
}

/**
 * Loads everything a report shows from run folders, experiment folders, sweep folders (any
 * registered {@link SourceKind}) or a list of them, mixed as you like: runs and experiments give
 * curves, norms, spectra and masks; each sweep gives its own section of figures and tables. Inputs
 * that cannot be used are skipped and listed with a one-line reason naming the file and line at
 * fault; the report covers the rest. Throws a {@link ReportError} only when nothing at all can be
 * reported.
 *
 * Run names: an arm's name when one experiment is reported alone, else `experiment/arm`; a run
 * given on its own is named after its folder (names are made unique).
 */
export async function loadReportData(paths: string[], options: LoadOptions = {}): Promise<ReportData> {
  if (paths.length === 0) throw new ReportError('nothing to report: give at least one run, experiment or sweep folder');
  const cwd = options.cwd ?? process.cwd();
  // Runs are opened by the path people see (relative when inside the working directory), so that
  // every message names files the way the user would type them.
  const open = (d: string) => (cwd === process.cwd() ? displayPath(d, cwd) : path.resolve(cwd, d));
  const ctx: SourceContext = {
    cwd,
    display: (d) => displayPath(d, cwd),
    loadRun: (d, label) => loadRunFolder(open(d), label, cwd),
  };
  const runs: ReportRun[] = [];
  const groups: Array<Omit<ReportGroup, 'runs'> & { members: ReportRun[] }> = [];
  const sweeps: ReportSweep[] = [];
  const skipped: SkippedInput[] = [];
  const ordered = sourceKinds.entries().reverse();
  for (const p of paths) {
    const dir = path.resolve(cwd, p);
    if (!fs.existsSync(dir)) {
      skipped.push({ path: p, reason: `${p} does not exist` });
      continue;
    }
    if (!fs.statSync(dir).isDirectory()) {
      skipped.push({ path: p, reason: `${p} is not a folder` });
      continue;
    }
    const kind = ordered.find((k) => k.detect(dir));
    if (!kind) {
      skipped.push({
        path: p,
        reason: `${p} is not a run, experiment or sweep folder (it has no ${ordered.map((k) => k.marker).join(', no ')})`,
      });
      continue;
    }
    const loaded = await kind.load(dir, ctx);
    skipped.push(...loaded.skipped);
    runs.push(...loaded.runs);
    if (loaded.group) groups.push({ ...loaded.group, members: loaded.runs });
    if (loaded.sweep) {
      // Sweep names title sections and name figure files: unique within the report.
      let name = loaded.sweep.name;
      for (let i = 2; sweeps.some((s) => s.name === name); i++) name = `${loaded.sweep.name} (${i})`;
      sweeps.push({ ...loaded.sweep, name });
    }
  }
  if (runs.length === 0 && sweeps.length === 0) {
    throw new ReportError(`nothing to report: every input was skipped (${skipped.map((s) => s.reason).join('; ')})`);
  }
  // Names: short when one experiment is alone, qualified otherwise, and always unique. A group's
  // baseline names one of its runs by arm or by the name its source kind gave it.
  const given = new Map(runs.map((r) => [r, r.arm ?? r.name]));
  const alone = groups.length === 1 && runs.every((r) => r.group !== null);
  const used = new Set<string>();
  for (const r of runs) {
    let name = r.group !== null && !alone ? `${r.group}/${r.name}` : r.name;
    for (let i = 2; used.has(name); i++)
      name = `${r.group !== null && !alone ? `${r.group}/${r.name}` : r.name} (${i})`;
    used.add(name);
    r.name = name;
  }
  const reportGroups: ReportGroup[] = groups.map(({ members, ...g }) => {
    const baseline = g.baseline === null ? null : (members.find((m) => given.get(m) === g.baseline)?.name ?? null);
    return { ...g, runs: members.map((m) => m.name), baseline };
  });
  if (options.baseline !== undefined) {
    if (!runs.some((r) => r.name === options.baseline))
      throw new ReportOptionError(
        `baseline "${options.baseline}" is not one of the runs (${runs.map((r) => r.name).join(', ')})`,
      );
    for (const g of reportGroups) g.baseline = options.baseline;
  }
  const kindTitle = (g: { kind: string; name: string }) =>
    g.kind === 'ticket-experiment' ? `Ticket experiment ${g.name}` : `${g.kind} ${g.name}`;
  const onlySweep = runs.length === 0 && sweeps.length === 1;
  const title =
    options.title ??
    (onlySweep
      ? `Sweep ${sweeps[0]!.name}`
      : sweeps.length > 0
        ? 'grokking-tickets report'
        : alone
          ? kindTitle(groups[0]!)
          : runs.length === 1
            ? `Run ${runs[0]!.name}`
            : 'grokking-tickets report');
  return { title, runs, groups: reportGroups, sweeps, skipped, baseline: options.baseline ?? null };
}
