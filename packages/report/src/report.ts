import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@grokking-tickets/run-store';
import { ReportError } from './errors.js';
import { escapeHtml, escapeMarkdown } from './escape.js';
import { buildFigures } from './figures.js';
import { fixed, int, pct } from './format.js';
import { renderSvg } from './render.js';
import { structureTables } from './structure.js';
import { sweepIntro, sweepSection, sweepTables } from './sweepFigures.js';
import { loadReportData, type LoadOptions } from './sources.js';
import { baselineOf, maskOverlaps, runStats, seriesOf, type RunStats } from './stats.js';
import type { Figure, ReportData, ReportTable } from './types.js';

/** A figure with its rendered SVG. */
export interface RenderedFigure extends Figure {
  svg: string;
}

/** A report ready to write: its data, the summary statistics, tables and rendered figures. */
export interface Report {
  data: ReportData;
  stats: RunStats[];
  tables: ReportTable[];
  figures: RenderedFigure[];
}

/** Output formats: one self-contained HTML file, or Markdown with SVG files beside it. */
export type ReportFormat = 'html' | 'md';

/** The steps shown in the frequency-entropy table: 0, the analysis interval doubling, a linear grid, and the last. */
function entropySteps(available: number[]): number[] {
  const steps = [...new Set(available)].sort((a, b) => a - b);
  if (steps.length <= 16) return steps;
  const first = steps.find((s) => s > 0)!;
  const last = steps[steps.length - 1]!;
  const wanted = new Set<number>([0, last]);
  for (let s = first; s <= last / 2; s *= 2) wanted.add(s);
  const grid = Math.max(first, Math.round(last / 10 / first) * first);
  for (let s = grid; s < last; s += grid) wanted.add(s);
  // Snap each wanted step to the nearest available one.
  const snapped = [...wanted].map((w) =>
    steps.reduce((best, s) => (Math.abs(s - w) < Math.abs(best - w) ? s : best), steps[0]!),
  );
  return [...new Set(snapped)].sort((a, b) => a - b);
}

function tablesOf(data: ReportData, stats: RunStats[]): ReportTable[] {
  const tables: ReportTable[] = data.sweeps.flatMap((s) => sweepTables(s));
  if (data.runs.length === 0) return tables;
  tables.push({
    id: 'summary',
    title: 'Summary',
    caption:
      'Steps are the first evaluation at or above the threshold (resolution: the evaluation interval). Speed-up = the baseline\'s steps to 95 % test accuracy / the run\'s. Norms are the global L1 and L2 norms of W ⊙ M at the last evaluation. Frequency entropy: the reference statistic of the input side at the first and last analysed step; "half-way" is the first analysed step at which it had made half of that change, "settled" the first from which it stays within 10 % of the change from its final value (resolution: the analysis interval).',
    header: [
      'run',
      'kept weights',
      'memorised (train ≥ 95 %)',
      'generalised (test ≥ 95 %)',
      'speed-up',
      'final train acc',
      'final test acc',
      'L1',
      'L2',
      'freq. entropy (in)',
      'entropy half-way',
      'entropy settled',
    ],
    rows: stats.map((s) => [
      s.name,
      `${pct(s.keptFraction)} (${int(s.kept)})`,
      int(s.stepsToTrain95),
      int(s.stepsToTest95),
      s.speedup === null ? '–' : `${s.speedup.toFixed(1)}x vs ${s.baseline}`,
      pct(s.finalTrainAcc, 2),
      pct(s.finalTestAcc, 2),
      fixed(s.finalL1, 1),
      fixed(s.finalL2, 2),
      s.entropyInStart === null ? '–' : `${s.entropyInStart.toFixed(4)} → ${s.entropyInEnd!.toFixed(4)}`,
      s.entropyInHalfway === null ? '–' : `step ${int(s.entropyInHalfway)}`,
      s.entropyInSettled === null ? '–' : `step ${int(s.entropyInSettled)}`,
    ]),
  });
  const analysed = data.runs.filter((r) => r.analysis.length > 0);
  if (analysed.length > 0) {
    const steps = entropySteps(analysed.flatMap((r) => r.analysis.map((a) => a.step)));
    const series = analysed.map((r) => new Map(seriesOf(r.analysis, 'freq_entropy_in').map((p) => [p.step, p.value])));
    tables.push({
      id: 'frequency-entropy',
      title: 'Frequency entropy of the input side over time',
      caption:
        'The reference statistic ("entropy" in the reference code; 3.466 for a flat spectrum, 2.518 for one frequency per neuron) of the effective input weights at selected analysed steps.',
      header: ['step', ...analysed.map((r) => r.name)],
      rows: steps.map((step) => [int(step), ...series.map((m) => (m.has(step) ? m.get(step)!.toFixed(4) : '–'))]),
    });
  }
  const masked = data.runs.filter((r) => r.masks);
  if (masked.length > 0) {
    const names = [...new Set(masked.flatMap((r) => Object.keys(r.masks!)))];
    tables.push({
      id: 'masks',
      title: 'Masks',
      caption: 'Weights each mask keeps, over all tensors and per tensor (the keep fraction κ = 1 − pruning rate).',
      header: ['run', 'kept', ...names],
      rows: masked.map((r) => {
        const per = (n: string) => {
          const m = r.masks![n];
          if (!m) return '–';
          let k = 0;
          for (const v of m) if (v !== 0) k++;
          return pct(k / m.length);
        };
        const s = stats.find((x) => x.name === r.name)!;
        return [r.name, `${int(s.kept)} of ${int(s.total)} (${pct(s.keptFraction)})`, ...names.map(per)];
      }),
    });
    const overlaps = maskOverlaps(data);
    if (overlaps.length > 0) {
      tables.push({
        id: 'mask-overlap',
        title: 'Mask overlap',
        caption:
          'Jaccard overlap J = |a ∧ b| / |a ∨ b| of the kept weights of every pair of masks (two independent random masks keeping a fraction κ each overlap by about κ / (2 − κ)).',
        header: ['masks', 'Jaccard', 'kept by both', 'kept by either'],
        rows: overlaps.map((o) => [`${o.a} – ${o.b}`, o.jaccard.toFixed(4), int(o.intersection), int(o.union)]),
      });
    }
  }
  tables.push(...structureTables(data));
  tables.push({
    id: 'runs',
    title: 'Runs',
    caption:
      'Where each run comes from. Frequency curves come from the metrics rows (logged during training every --analysis-every steps) or from analysis.jsonl (grokking-tickets analyze).',
    header: ['run', 'folder', 'model', 'steps', 'eval every', 'frequency analysis', 'spectra from'],
    rows: data.runs.map((r) => [
      r.name,
      r.dir,
      r.model,
      int(r.steps),
      int(r.evalEvery),
      r.analysisSource ? `${r.analysisSource} (${r.analysis.length} points)` : 'none',
      r.lastCheckpoint,
    ]),
  });
  return tables;
}

/**
 * Prefixes every element id of an SVG (and the `url(#…)` references to them): figures inlined in one
 * page must not share the ids of their gradients and clip paths, or one figure would paint with
 * another's.
 */
function scopeIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`);
}

/**
 * Builds a report from loaded data: the summary statistics, the tables and every figure rendered
 * to SVG (in Node; no browser). Each sweep's tables and figures come first (section
 * `sweep:<name>`), then those of the runs.
 *
 * @example
 * ```ts
 * const report = await buildReport(await loadReportData(['runs/ticket-s0']));
 * console.log(report.stats.map((s) => [s.name, s.stepsToTest95, s.speedup]));
 * const html = reportHtml(report);
 * ```
 */
export async function buildReport(data: ReportData): Promise<Report> {
  const stats = data.runs.map((r) => runStats(r, baselineOf(data, r)));
  const figures: RenderedFigure[] = [];
  const ids = new Set<string>();
  for (const [i, f] of buildFigures(data).entries()) {
    // Ids become element ids and file names: a slug of the figure's own id, unique in the report.
    let id = slug(f.id);
    for (let n = 2; ids.has(id); n++) id = `${slug(f.id)}-${n}`;
    ids.add(id);
    figures.push({ ...f, id, svg: scopeIds(await renderSvg(f.spec), `f${i}`) });
  }
  return { data, stats, tables: tablesOf(data, stats), figures };
}

/** Loads and builds a report from run or experiment folders (see `loadReportData`). */
export async function createReport(paths: string[], options: LoadOptions = {}): Promise<Report> {
  return buildReport(await loadReportData(paths, options));
}

const CSS = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; } th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
section { overflow-x: auto; } figure { margin: 12px 0 24px; } figcaption, .caption { color: #555; font-size: 13px; max-width: 900px; }
svg { max-width: 100%; height: auto; } .skipped li, .notes li { font-family: monospace; font-size: 12px; }
code { background: #f4f4f4; padding: 0 3px; }
`;

function htmlTable(t: ReportTable, level = 2): string {
  const head = `<tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<section id="table-${escapeHtml(t.id)}"><h${level}>${escapeHtml(t.title)}</h${level}>\n<table>\n${head}\n${body}\n</table>\n<p class="caption">${escapeHtml(t.caption)}</p></section>`;
}

/**
 * One part of a report: a sweep (its heading, intro and notes) or the runs; its first table leads, then its figures,
 * then the other tables.
 */
interface Part {
  heading: string | null;
  intro: string | null;
  notes: string[];
  tables: ReportTable[];
  figures: RenderedFigure[];
}

/** The report's parts in order: every sweep, then the runs; each headed when there is more than one. */
function partsOf(report: Report): Part[] {
  const parts: Part[] = report.data.sweeps.map((s) => {
    const key = sweepSection(s);
    const intro = sweepIntro(s);
    return {
      heading: `Sweep ${s.name}`,
      intro: intro.summary,
      notes: intro.notes,
      tables: report.tables.filter((t) => t.section === key),
      figures: report.figures.filter((f) => f.section === key),
    };
  });
  if (report.data.runs.length > 0) {
    parts.push({
      heading: 'Runs',
      intro: null,
      notes: [],
      tables: report.tables.filter((t) => t.section === undefined),
      figures: report.figures.filter((f) => f.section === undefined),
    });
  }
  // A report of one part needs no part headings: its title says what it is.
  if (parts.length === 1) parts[0]!.heading = null;
  return parts;
}

/** "3 runs", "sweep e3 (39 runs)", "sweep e3 (39 runs) and 4 runs". */
function sourcesLine(data: ReportData): string {
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  return [
    ...data.sweeps.map((s) => `sweep ${s.name} (${n(s.rows.length, 'run')})`),
    ...(data.runs.length ? [n(data.runs.length, 'run')] : []),
  ]
    .join(', ')
    .replace(/, ([^,]*)$/, ' and $1');
}

/** Notes and skipped inputs, as lines. */
function notesOf(report: Report): { notes: string[]; skipped: string[] } {
  return { notes: report.data.runs.flatMap((r) => r.notes), skipped: report.data.skipped.map((s) => s.reason) };
}

/**
 * The report as one self-contained HTML page: inline CSS and inline SVG figures, no script, and a
 * Content-Security-Policy that forbids every request (it opens offline). Every user string (run
 * names, folders, notes) is escaped.
 */
export function reportHtml(report: Report): string {
  const { data } = report;
  const { notes, skipped } = notesOf(report);
  const groups = data.groups.map(
    (g) =>
      `<li><b>${escapeHtml(g.name)}</b> (<code>${escapeHtml(g.dir)}</code>): ${escapeHtml(g.description)}${g.baseline ? `; speed-ups against ${escapeHtml(g.baseline)}` : ''}</li>`,
  );
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing is fetched: styles are inline, and the only images are the figures' PNG data: URLs.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(data.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(data.title)}</h1>`,
    `<p class="caption">Made by <code>grokking-tickets report</code> from ${escapeHtml(sourcesLine(data))}.</p>`,
    groups.length ? `<ul>${groups.join('\n')}</ul>` : '',
    skipped.length
      ? `<section id="skipped"><h2>Skipped inputs</h2><ul class="skipped">${skipped.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n')}</ul></section>`
      : '',
    notes.length
      ? `<section id="notes"><h2>Notes</h2><ul class="notes">${notes.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n')}</ul></section>`
      : '',
    ...partsOf(report).flatMap((part) => {
      const level = part.heading ? 3 : 2;
      const figure = (f: RenderedFigure) =>
        `<figure id="fig-${escapeHtml(f.id)}" class="plot"><h3>${escapeHtml(f.title)}</h3>\n${f.svg}\n<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`;
      return [
        part.heading ? `<h2>${escapeHtml(part.heading)}</h2>` : '',
        part.intro ? `<p class="caption">${escapeHtml(part.intro)}</p>` : '',
        part.notes.length
          ? `<ul class="notes">${part.notes.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n')}</ul>`
          : '',
        ...part.tables.slice(0, 1).map((t) => htmlTable(t, level)),
        ...part.figures.map(figure),
        ...part.tables.slice(1).map((t) => htmlTable(t, level)),
      ];
    }),
    '</body>',
    '</html>',
    '',
  ];
  return parts.filter((p) => p !== '').join('\n');
}

/** A file name part from a figure id: lowercase letters, digits and dashes. */
function slug(id: string): string {
  return (
    id
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'figure'
  );
}

/**
 * The report as Markdown (for READMEs and papers) with each figure as an SVG file beside it, named
 * `<stem>-<figure>.svg`. Returns the Markdown text and the files to write (names relative to the
 * Markdown file's folder). User strings are escaped.
 */
export function reportMarkdown(
  report: Report,
  stem = 'report',
): { markdown: string; files: Array<{ name: string; content: string }> } {
  const { data } = report;
  const { notes, skipped } = notesOf(report);
  const files: Array<{ name: string; content: string }> = [];
  const used = new Set<string>();
  const mdTable = (t: ReportTable, h: string) =>
    [
      `${h} ${escapeMarkdown(t.title)}`,
      '',
      `| ${t.header.map(escapeMarkdown).join(' | ')} |`,
      `|${t.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
      ...t.rows.map((r) => `| ${r.map(escapeMarkdown).join(' | ')} |`),
      '',
      escapeMarkdown(t.caption),
      '',
    ].join('\n');
  const lines: string[] = [
    `# ${escapeMarkdown(data.title)}`,
    '',
    `Made by \`grokking-tickets report\` from ${escapeMarkdown(sourcesLine(data))}.`,
    '',
  ];
  for (const g of data.groups)
    lines.push(
      `- **${escapeMarkdown(g.name)}**: ${escapeMarkdown(g.description)}${g.baseline ? `; speed-ups against ${escapeMarkdown(g.baseline)}` : ''}`,
    );
  if (data.groups.length) lines.push('');
  if (skipped.length) lines.push('## Skipped inputs', '', ...skipped.map((s) => `- ${escapeMarkdown(s)}`), '');
  if (notes.length) lines.push('## Notes', '', ...notes.map((s) => `- ${escapeMarkdown(s)}`), '');
  for (const part of partsOf(report)) {
    const h = part.heading ? '###' : '##';
    if (part.heading) lines.push(`## ${escapeMarkdown(part.heading)}`, '');
    if (part.intro) lines.push(escapeMarkdown(part.intro), '');
    if (part.notes.length) lines.push(...part.notes.map((s) => `- ${escapeMarkdown(s)}`), '');
    for (const t of part.tables.slice(0, 1)) lines.push(mdTable(t, h));
    for (const f of part.figures) {
      let name = `${stem}-${slug(f.id)}.svg`;
      for (let i = 2; used.has(name); i++) name = `${stem}-${slug(f.id)}-${i}.svg`;
      used.add(name);
      files.push({ name, content: f.svg });
      lines.push(
        `${h} ${escapeMarkdown(f.title)}`,
        '',
        `![${escapeMarkdown(f.title)}](${encodeURI(name)})`,
        '',
        escapeMarkdown(f.caption),
        '',
      );
    }
    for (const t of part.tables.slice(1)) lines.push(mdTable(t, h));
  }
  return { markdown: lines.join('\n'), files };
}

/** The format an output file name implies (`.md` → Markdown, else HTML). */
export function formatOf(file: string): ReportFormat {
  return /\.(md|markdown)$/i.test(file) ? 'md' : 'html';
}

/**
 * Writes a report: `html` writes one self-contained file; `md` writes the Markdown file and its SVG
 * files beside it. Every file is written atomically; the folder is created if needed. Returns the
 * paths written (the main file first).
 */
export function writeReport(report: Report, file: string, format: ReportFormat = formatOf(file)): string[] {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (format === 'html') {
      writeFileAtomic(file, reportHtml(report));
      return [file];
    }
    const stem = path.basename(file).replace(/\.(md|markdown)$/i, '');
    const { markdown, files } = reportMarkdown(report, stem);
    const written: string[] = [];
    for (const f of files) {
      const p = path.join(path.dirname(file), f.name);
      writeFileAtomic(p, f.content);
      written.push(p);
    }
    writeFileAtomic(file, markdown);
    return [file, ...written];
  } catch (e) {
    if (e instanceof ReportError) throw e;
    throw new ReportError(
      `cannot write the report to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { cause: e },
    );
  }
}
