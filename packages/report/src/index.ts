/**
 * @grokking-tickets/report — reports of grokking-tickets runs, experiments and sweeps. Reads run
 * folders (and ticket experiment folders, sweep folders, and any kind registered with
 * `registerSourceKind`), verifies what it reads, skips and lists what it cannot use, draws Vega-Lite
 * figures rendered to SVG in Node, and writes one self-contained HTML file or Markdown with SVG
 * files. It never trains and needs no tensor library.
 *
 * @example
 * ```ts
 * const report = await createReport(['runs/ticket-s0']);
 * writeReport(report, 'runs/ticket-s0/report.html');        // or 'docs/report.md' for Markdown + SVG
 * console.log(report.data.skipped);                          // inputs left out, with the reason
 * ```
 */
export { ReportError, ReportInputError, ReportOptionError } from './errors.js';
export { escapeHtml, escapeMarkdown } from './escape.js';
export type {
  Figure,
  Float32Arrays,
  ReportData,
  ReportGraphMask,
  ReportGroup,
  ReportRun,
  ReportStructure,
  ReportStructureRow,
  ReportSweep,
  ReportTable,
  SkippedInput,
  SweepPointValues,
  SweepResultRow,
} from './types.js';
export { displayPath, loadRunFolder, type RunLabel } from './runs.js';
export {
  listSourceKinds,
  loadReportData,
  registerSourceKind,
  type LoadOptions,
  type LoadedSource,
  type SourceContext,
  type SourceKind,
} from './sources.js';
export {
  halfwayStep,
  maskBlocks,
  neuronSpectrum,
  runStats,
  settlingStep,
  tokenMatrices,
  type MaskBlock,
  type NeuronSpectrum,
  type RunStats,
} from './stats.js';
export { buildFigures } from './figures.js';
export { loadSweepFolder, parseSweepRows } from '@grokking-tickets/experiment-format';
export {
  criticalRates,
  medianOf,
  rateBands,
  stepsToGeneralise,
  sweepGroups,
  variedAxes,
  type AxisValue,
  type CriticalRate,
  type RateBand,
  type RateBands,
  type SeedValue,
  type StepsByCondition,
  type SweepGroup,
  type Unreached,
} from './sweepStats.js';
export { sweepFigures, sweepTables } from './sweepFigures.js';
export { renderSvg } from './render.js';
export { assertSafeSvg } from './svgSafety.js';
export { pngDataUrl } from './raster.js';
export {
  buildReport,
  createReport,
  formatOf,
  reportHtml,
  reportMarkdown,
  writeReport,
  type RenderedFigure,
  type Report,
  type ReportFormat,
} from './report.js';
