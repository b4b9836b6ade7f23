import fs from 'node:fs';
import path from 'node:path';
import { FormatError } from './errors.js';

/** The file that marks a ticket experiment folder. */
export const TICKET_RECORD_FILE = 'ticket.json';

/**
 * What `ticket.json` holds: the experiment's resolved config and its identity hash, and, for an
 * experiment of a sweep, its shared dense run and mask-free dense arm as folders relative to the
 * experiment folder (so the runs folder can be moved or mounted elsewhere as a whole).
 */
export interface TicketRecordFile<C = Record<string, unknown>> {
  /** The resolved ticket config (`dense`, `pruner`, `pruningRate`, `arms`, ...). */
  config: C;
  /** The hash of the config without its arms and dense folder (`ticketIdentity`). */
  identity: string;
  /** Sweeps: the dense run's folder, relative to the experiment folder; overrides `config.denseDir`. */
  denseRun?: string;
  /**
   * Sweeps: the mask-free dense arm's folder relative to the experiment folder (a plain run shared
   * by every rate; the dense run itself when it is retrained with the dense run's own settings).
   */
  denseArm?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const ARM_NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Checks the shape of a parsed `ticket.json` (an object with a config object listing its arms, an
 * identity, and relative `denseRun`/`denseArm` folders when present); throws a one-line
 * {@link FormatError} naming `file` and the field. What the config means is checked by whoever
 * resolves it (the experiments package checks it against its identity hash).
 */
export function parseTicketRecord(value: unknown, file: string): TicketRecordFile {
  if (!isObject(value) || !isObject(value.config)) throw new FormatError(`${file}: not a ticket record (no config)`);
  if (typeof value.identity !== 'string' || value.identity === '')
    throw new FormatError(`${file}: not a ticket record (no identity)`);
  const arms = value.config.arms;
  if (!Array.isArray(arms) || !arms.every((a) => typeof a === 'string' && ARM_NAME.test(a)))
    throw new FormatError(`${file}: config.arms is not a list of arm names`);
  for (const field of ['denseRun', 'denseArm'] as const) {
    const v = value[field];
    if (v !== undefined && (typeof v !== 'string' || v === '' || path.isAbsolute(v)))
      throw new FormatError(`${file}: ${field} must be a folder relative to the experiment`);
  }
  return {
    config: value.config,
    identity: value.identity,
    ...(value.denseRun !== undefined ? { denseRun: value.denseRun as string } : {}),
    ...(value.denseArm !== undefined ? { denseArm: value.denseArm as string } : {}),
  };
}

/** Reads and checks `<dir>/ticket.json` (see {@link parseTicketRecord}); `shownDir` is the folder as people see it. */
export function readTicketRecordFile(dir: string, shownDir = dir): TicketRecordFile {
  const file = path.join(shownDir, TICKET_RECORD_FILE);
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, TICKET_RECORD_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FormatError(
      code === 'ENOENT' ? `${file} is missing` : `${file}: cannot read (${code ?? (e as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FormatError(`${file}: not valid JSON`);
  }
  return parseTicketRecord(value, file);
}

/** Where an experiment's runs are. */
export interface ExperimentFolders {
  /** The dense run the tickets are pruned from. */
  denseRun: string;
  /**
   * Each arm of `config.arms`, in order: its folder (null when it has not run yet), and whether that
   * folder is the dense run itself (the dense arm retrained with the dense run's own settings).
   */
  arms: Array<{ arm: string; dir: string | null; isDenseRun: boolean }>;
}

/**
 * The folders of an experiment's runs, by the rules every writer follows: the dense run is the
 * recorded `denseRun` (sweeps), else the reused `config.denseDir` (resolved from `cwd`), else
 * `<dir>/dense-source`; an arm is `<dir>/arms/<arm>`, except the dense arm when it has no folder
 * there: then it is the recorded `denseArm` (sweeps), else the dense run itself (it was retrained
 * with the dense run's own settings, so it *is* that run). `exists` tells whether a folder exists.
 * @example
 * const { denseRun, arms } = experimentFolders('runs/ticket-s0', readTicketRecordFile('runs/ticket-s0'));
 * arms.map((a) => [a.arm, a.dir, a.isDenseRun]); // [ [ 'ticket', 'runs/ticket-s0/arms/ticket', false ], ... ]
 */
export function experimentFolders(
  dir: string,
  record: TicketRecordFile,
  cwd: string = process.cwd(),
  exists: (folder: string) => boolean = (f) => fs.existsSync(f),
): ExperimentFolders {
  const reused = record.config.denseDir;
  const denseRun =
    record.denseRun !== undefined
      ? path.join(dir, record.denseRun)
      : typeof reused === 'string' && reused !== ''
        ? path.resolve(cwd, reused)
        : path.join(dir, 'dense-source');
  const arms = (record.config.arms as string[]).map((arm) => {
    const own = path.join(dir, 'arms', arm);
    if (exists(own)) return { arm, dir: own, isDenseRun: false };
    if (arm !== 'dense') return { arm, dir: null, isDenseRun: false };
    const shared = record.denseArm !== undefined ? path.join(dir, record.denseArm) : denseRun;
    return { arm, dir: shared, isDenseRun: path.resolve(shared) === path.resolve(denseRun) };
  });
  return { denseRun, arms };
}
