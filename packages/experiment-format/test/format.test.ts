import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FormatError,
  SWEEP_CSV_COLUMNS,
  experimentFolders,
  parseTicketRecord,
  readTicketRecordFile,
  sweepRowsToCsv,
  type SweepRow,
  type TicketRecordFile,
} from '../src/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-format-'));
const record = (extra: Partial<TicketRecordFile> = {}, arms = ['ticket', 'dense']): TicketRecordFile => ({
  config: { arms, pruningRate: 0.6, denseDir: null },
  identity: 'abc123',
  ...extra,
});

describe('ticket.json', () => {
  it.each<[string, unknown, string]>([
    ['not an object', [], 'f: not a ticket record (no config)'],
    ['no config', { identity: 'x' }, 'f: not a ticket record (no config)'],
    ['no identity', { config: { arms: ['ticket'] } }, 'f: not a ticket record (no identity)'],
    ['arms not names', { config: { arms: ['Ticket!'] }, identity: 'x' }, 'f: config.arms is not a list of arm names'],
    [
      'absolute denseRun',
      { config: { arms: ['ticket'] }, identity: 'x', denseRun: '/abs/dense' },
      'f: denseRun must be a folder relative to the experiment',
    ],
    [
      'empty denseArm',
      { config: { arms: ['ticket'] }, identity: 'x', denseArm: '' },
      'f: denseArm must be a folder relative to the experiment',
    ],
  ])('refuses %s with a one-line FormatError naming the file', (_name, value, message) => {
    expect(() => parseTicketRecord(value, 'f')).toThrow(FormatError);
    expect(() => parseTicketRecord(value, 'f')).toThrow(message);
  });

  it('reads a record from a folder; a missing or damaged file is a FormatError naming it', () => {
    const dir = tmp();
    expect(() => readTicketRecordFile(dir)).toThrow(`${path.join(dir, 'ticket.json')} is missing`);
    fs.writeFileSync(path.join(dir, 'ticket.json'), '{"config":');
    expect(() => readTicketRecordFile(dir)).toThrow(`${path.join(dir, 'ticket.json')}: not valid JSON`);
    fs.writeFileSync(path.join(dir, 'ticket.json'), JSON.stringify(record({ denseRun: '../dense' })));
    expect(readTicketRecordFile(dir)).toEqual(record({ denseRun: '../dense' }));
  });
});

describe('experimentFolders: which folder holds each arm', () => {
  const exists = (present: string[]) => (f: string) => present.includes(f);
  it('the ticket command: dense-source inside; a dense arm without its own folder is the dense run itself', () => {
    const f = experimentFolders('/e', record(), '/cwd', exists(['/e/arms/ticket']));
    expect(f.denseRun).toBe('/e/dense-source');
    expect(f.arms).toEqual([
      { arm: 'ticket', dir: '/e/arms/ticket', isDenseRun: false },
      { arm: 'dense', dir: '/e/dense-source', isDenseRun: true },
    ]);
    // trained on its own (other retraining settings): its folder
    const own = experimentFolders('/e', record(), '/cwd', exists(['/e/arms/ticket', '/e/arms/dense']));
    expect(own.arms[1]).toEqual({ arm: 'dense', dir: '/e/arms/dense', isDenseRun: false });
  });

  it('a reused dense run resolves from the working folder; an arm not run yet has no folder', () => {
    const f = experimentFolders('/e', record({}, ['ticket', 'random']), '/cwd', exists([]));
    expect(f.denseRun).toBe('/e/dense-source');
    const reused = experimentFolders(
      '/e',
      { ...record(), config: { arms: ['random'], denseDir: 'runs/dense-s0' } },
      '/cwd',
      exists([]),
    );
    expect(reused.denseRun).toBe('/cwd/runs/dense-s0');
    expect(reused.arms).toEqual([{ arm: 'random', dir: null, isDenseRun: false }]);
  });

  it("a sweep's experiment: the shared dense run and the shared mask-free dense arm it records", () => {
    const shared = experimentFolders(
      '/runs/ticket-x',
      record({ denseRun: '../dense-a', denseArm: '../wd0' }),
      '/cwd',
      exists([]),
    );
    expect(shared.denseRun).toBe('/runs/dense-a');
    expect(shared.arms[1]).toEqual({ arm: 'dense', dir: '/runs/wd0', isDenseRun: false });
    const same = experimentFolders(
      '/runs/ticket-x',
      record({ denseRun: '../dense-a', denseArm: '../dense-a' }),
      '/cwd',
      exists([]),
    );
    expect(same.arms[1]).toEqual({ arm: 'dense', dir: '/runs/dense-a', isDenseRun: true });
  });
});

describe('sweep-results.csv', () => {
  it('one column per SWEEP_CSV_COLUMNS entry; lists joined with ";", RFC 4180 quoting', () => {
    const row = Object.fromEntries(SWEEP_CSV_COLUMNS.map((c) => [c, null])) as unknown as SweepRow;
    const csv = sweepRowsToCsv([{ ...row, runId: 'a', points: [0, 2], error: 'a "quoted", line', steps: 10 }]);
    const [header, line] = csv.trimEnd().split('\n');
    expect(header).toBe(SWEEP_CSV_COLUMNS.join(','));
    expect(line!.startsWith('a,,,,"a ""quoted"", line",0;2,')).toBe(true);
  });
});
