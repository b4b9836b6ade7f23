/**
 * @grokking-tickets/experiment-format — the files of ticket experiments and sweeps, in one place
 * for the code that writes them and the code that reads them (reports, other tools): `ticket.json`
 * and which folder holds each arm, `sweep.json`, and the one row per run of `sweep-results.jsonl`
 * and `sweep-results.csv`. Plain JSON and typed readers; no tensor library.
 */
export { FormatError } from './errors.js';
export {
  TICKET_RECORD_FILE,
  experimentFolders,
  parseTicketRecord,
  readTicketRecordFile,
  type ExperimentFolders,
  type TicketRecordFile,
} from './ticketRecord.js';
export { SWEEP_FORMAT, loadSweepFolder, parseSweepRecord, parseSweepRows } from './sweepFolder.js';
export {
  SWEEP_CSV_COLUMNS,
  sweepRowsToCsv,
  sweepRowsToJsonl,
  type SweepRow,
  type SweepRunRole,
  type SweepRunStatus,
} from './sweepResults.js';
export type { SkippedInput, SweepFolder, SweepPointValues, SweepResultRow } from './types.js';
