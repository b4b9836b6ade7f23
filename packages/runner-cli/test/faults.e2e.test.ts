/**
 * Fault injection, table-driven: bad flags and config files, corrupted run and experiment folders,
 * concurrent writers, kills at random points, a full disk. Every case must end cleanly: the
 * documented exit code (2 usage, 1 runtime, 130 interrupt), one line on stderr for an error, no
 * stack trace, and nothing on disk lost or silently wrong.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCheckpoint, type StoredTensor } from '@grokking-tickets/run-store';
import { runTraining, type TrainConfigInput } from '@grokking-tickets/training';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, copyRun, flipBit, rewriteCheckpoint, snapshot, startUntil, tmp, type CliResult } from './helpers.js';

const TASK = ['--p', '11', '--train-fraction', '0.5', '--lr', '0.01', '--seed', '1', '--backend', 'wasm'];
const DENSE = [...TASK, '--steps', '200', '--eval-every', '20', '--checkpoint-every', '100'];
const CONFIG: TrainConfigInput = {
  task: { name: 'modular', p: 11, trainFraction: 0.5 },
  optimizer: { lr: 0.01 },
  seed: 1,
  backend: 'wasm',
  steps: 600,
  evalEvery: 20,
  checkpointEvery: 100,
  resumeEvery: 50,
};

/** Fixtures built once: a finished dense run, a finished 600-step run and the same run interrupted at step 300. */
const F = { root: '', dense: '', full: '', partial: '', ticket: '' };

beforeAll(async () => {
  F.root = tmp('gt-faults-');
  F.dense = path.join(F.root, 'dense');
  const dense = await cli(['train', ...DENSE, '--out', F.dense, '--quiet']);
  expect(dense.code, dense.stderr).toBe(0);
  F.full = path.join(F.root, 'full');
  await runTraining({ config: CONFIG, dir: F.full });
  F.partial = path.join(F.root, 'partial');
  const controller = new AbortController();
  const r = await runTraining({
    config: CONFIG,
    dir: F.partial,
    signal: controller.signal,
    onEvent: (e) => e.type === 'eval' && e.row.step === 300 && controller.abort(),
  });
  expect(r.status).toBe('interrupted');
  F.ticket = path.join(F.root, 'ticket');
  const t = await cli([
    'ticket',
    '--dense',
    F.dense,
    '--arms',
    'ticket,random',
    '--retrain-steps',
    '60',
    '--out',
    F.ticket,
    '--quiet',
  ]);
  expect(t.code, t.stderr).toBe(0);
}, 300_000);

const metricsOf = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
const oneLine = (r: CliResult) => {
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('(run with --help')).length,
    r.stderr,
  ).toBe(1);
};

// --------------------------------------------------------------------------------------------
// 1. Bad flags and config files: exit 2, one line, nothing created.
// --------------------------------------------------------------------------------------------
type FlagCase = [name: string, args: string[], pattern: RegExp, files?: Record<string, string>];
const TRAIN_BAD: FlagCase[] = [
  ['empty --out', ['train', '--out', ''], /--out must not be empty/],
  ['empty --config', ['train', '--config', ''], /--config must not be empty/],
  ['huge --steps', ['train', '--steps', '99999999999999999999'], /--steps must be an integer below 2\^53/],
  ['--steps beyond the maximum', ['train', '--steps', '1e9'], /steps: must be <= 100000000/],
  ['hex --lr', ['train', '--lr', '0x10'], /--lr must be a decimal number, got "0x10"/],
  ['hex --steps', ['train', '--steps', '0x10'], /--steps must be a decimal number/],
  ['--lr Infinity', ['train', '--lr', 'Infinity'], /--lr must be a decimal number/],
  ['--lr NaN', ['train', '--lr', 'NaN'], /--lr must be a decimal number/],
  ['empty --lr', ['train', '--lr', ''], /--lr must be a decimal number, got ""/],
  ['fractional --steps', ['train', '--steps', '1.5'], /--steps must be an integer/],
  ['non-numeric --steps', ['train', '--steps', 'many'], /--steps must be a decimal number/],
  ['negative --eval-every', ['train', '--eval-every', '0'], /--eval-every must be >= 1/],
  ['seed too large', ['train', '--seed', '4294967296'], /seed: must be <= 4294967295/],
  ['p < 2', ['train', '--p', '1'], /--p must be >= 2/],
  ['p too large for memory', ['train', '--p', '1000'], /would need about 9\.\d GiB of memory \(task\.p 1000/],
  ['train fraction outside (0, 1)', ['train', '--train-fraction', '1.5'], /task\.trainFraction: must be < 1, got 1\.5/],
  ['unknown backend', ['train', '--backend', 'gpu'], /--backend must be one of auto, tensorflow, wasm, cpu/],
  ['unknown model', ['train', '--model', 'resnet'], /model\.kind: unknown model "resnet"/],
  [
    'unknown op',
    ['train', '--op', 'divide'],
    /task\.op: must be one of "add", "subtract", "x2xyy2", "rand", got "divide"/,
  ],
  [
    'checkpoint beyond the run',
    ['train', '--steps', '100', '--checkpoint-steps', '500'],
    /checkpointSteps: step 500 is beyond the run's 100 steps/,
  ],
  [
    'empty checkpoint-steps item',
    ['train', '--checkpoint-steps', '10,,20'],
    /--checkpoint-steps must be a comma-separated list with no empty items/,
  ],
  [
    '--resume with --force',
    ['train', '--out', 'x', '--resume', '--force'],
    /--resume and --force cannot be used together/,
  ],
  ['--resume without --out', ['train', '--resume'], /--resume needs --out/],
  ['unknown flag', ['train', '--stepz', '3'], /unknown option '--stepz'/],
  ['unknown command', ['fly'], /unknown command 'fly'/],
  ['missing config file', ['train', '--config', 'nope.json'], /cannot read config file nope\.json: ENOENT/],
  [
    'config file not JSON',
    ['train', '--config', 'c.json'],
    /config file c\.json is not valid JSON/,
    { 'c.json': '{ "steps": ' },
  ],
  [
    'config file null',
    ['train', '--config', 'c.json'],
    /config file c\.json must hold a JSON object, got null/,
    { 'c.json': 'null' },
  ],
  ['config file a list', ['train', '--config', 'c.json'], /must hold a JSON object, got a list/, { 'c.json': '[]' }],
  [
    'config task null',
    ['train', '--config', 'c.json'],
    /^grokking-tickets: error: task: must be an object, got null$/m,
    { 'c.json': '{"task": null}' },
  ],
  [
    'config optimizer typo',
    ['train', '--config', 'c.json'],
    /optimizer: unknown field "lrr" \(fields: lr, beta1, beta2, eps, weightDecay\)/,
    { 'c.json': '{"optimizer": {"lrr": 0.1}}' },
  ],
  [
    'config top-level typo',
    ['train', '--config', 'c.json'],
    /unknown config field "optimiser"/,
    { 'c.json': '{"optimiser": {}}' },
  ],
  [
    'config steps as a string',
    ['train', '--config', 'c.json'],
    /steps: must be a number, got "100"/,
    { 'c.json': '{"steps": "100"}' },
  ],
  [
    'config checkpointSteps not a list',
    ['train', '--config', 'c.json'],
    /checkpointSteps: must be a list, got 5/,
    { 'c.json': '{"checkpointSteps": 5}' },
  ],
  [
    'config p fractional',
    ['train', '--config', 'c.json'],
    /task\.p: must be an integer, got 1\.5/,
    { 'c.json': '{"task": {"p": 1.5}}' },
  ],
  [
    'config model option negative',
    ['train', '--config', 'c.json'],
    /dEmb/,
    { 'c.json': '{"model": {"kind": "mlp", "dEmb": -3}}' },
  ],
  [
    'config empty op',
    ['train', '--config', 'c.json'],
    /task\.op: must be one of/,
    { 'c.json': '{"task": {"op": ""}}' },
  ],
];
const TICKET_BAD: FlagCase[] = [
  ['empty --dense', ['ticket', '--dense', ''], /--dense must not be empty/],
  ['empty --pruner', ['ticket', '--pruner', ''], /--pruner must not be empty/],
  ['empty --arms', ['ticket', '--arms', ''], /--arms must be a comma-separated list with no empty items/],
  ['empty arm', ['ticket', '--arms', 'ticket,,dense'], /--arms must be a comma-separated list/],
  ['unknown arm', ['ticket', '--arms', 'ticket,lottery'], /arms: unknown arm "lottery"/],
  ['pruning rate 1', ['ticket', '--pruning-rate', '1'], /pruningRate: must be < 1, got 1/],
  ['negative pruning rate', ['ticket', '--pruning-rate', '-0.1'], /pruningRate: must be >= 0/],
  ['rounds with one-shot', ['ticket', '--rounds', '3'], /rounds: a one-shot schedule has one round/],
  ['bad --from-step', ['ticket', '--from-step', 'last'], /--from-step must be a decimal number/],
  [
    '--from-step beyond the dense run',
    ['ticket', '--steps', '100', '--from-step', '400'],
    /fromStep: step 400 is beyond the dense run's 100 steps/,
  ],
  ['bad --scope', ['ticket', '--scope', 'diagonal'], /--scope.*Allowed choices are global, local/],
  [
    'unknown pruner',
    ['ticket', '--pruner', 'nonesuch'],
    /cannot load pruner "nonesuch": no such pruner, package or module/,
  ],
  [
    'bad ticket config',
    ['ticket', '--config', 't.json'],
    /retrain: unknown field "wd"/,
    { 't.json': '{"retrain": {"wd": 0}}' },
  ],
  [
    'bad prunable',
    ['ticket', '--prunable', 'W_X', ...DENSE],
    /prunable: W_X is not prunable; choose among W_E, W_in, W_out, W_U/,
  ],
];

describe.concurrent('bad flags and config files: exit 2, one line, nothing written', () => {
  it.each([...TRAIN_BAD, ...TICKET_BAD])('%s', async (_name, args, pattern, files) => {
    const cwd = tmp();
    for (const [f, text] of Object.entries(files ?? {})) fs.writeFileSync(path.join(cwd, f), text);
    const before = fs.readdirSync(cwd).sort();
    const r = await cli(args, { cwd });
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(fs.readdirSync(cwd).sort(), 'nothing created').toEqual(before);
  });
});

describe.concurrent('flags that do not apply, and inputs that must not be touched', () => {
  it.each([
    ['--lr', ['--lr', '0.1']],
    ['--steps', ['--steps', '10']],
    ['--dense-weight-decay', ['--dense-weight-decay', '0']],
    ['--checkpoint-every', ['--checkpoint-every', '5']],
  ])('ticket --dense with %s: refused (the dense run is fixed)', async (flag, extra) => {
    const r = await cli(['ticket', '--dense', F.dense, ...extra, '--out', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${flag} does not apply with --dense`));
    oneLine(r);
    expect(fs.existsSync(path.join(r.cwd, 'x'))).toBe(false);
  });

  it('ticket --dense D --out D --force is refused and D is intact', async () => {
    const dense = copyRun(F.dense);
    const before = snapshot(dense);
    for (const out of [dense, path.join(dense, 'inside'), path.dirname(dense)]) {
      const r = await cli(['ticket', '--dense', dense, '--out', out, '--force', '--arms', 'ticket']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--force would delete .*the dense run this experiment reads/);
      oneLine(r);
    }
    expect(snapshot(dense)).toEqual(before);
  });

  it('ticket --resume with a changed --pruning-rate is refused and the experiment is untouched', async () => {
    const exp = copyRun(F.ticket);
    const before = snapshot(exp);
    const r = await cli(['ticket', '--out', exp, '--resume', '--pruning-rate', '0.3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: the given settings describe a different experiment/);
    oneLine(r);
    expect(snapshot(exp)).toEqual(before);
    // the same settings again are fine, and more arms may be added
    const same = await cli([
      'ticket',
      '--out',
      exp,
      '--resume',
      '--pruning-rate',
      '0.6',
      '--arms',
      'ticket,random,same-l2',
      '--quiet',
    ]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^same-l2 /m);
  });

  it('train --resume with a changed flag is refused', async () => {
    const run = copyRun(F.partial);
    const r = await cli(['train', '--out', run, '--resume', '--steps', '700']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resume: the given settings differ from the config stored in/);
    oneLine(r);
  });
});

// --------------------------------------------------------------------------------------------
// 2. Pruners that fail are caught before the dense run trains.
// --------------------------------------------------------------------------------------------
describe.concurrent('pruners that fail or tie', () => {
  const pruner = (cwd: string, file: string, score: string) =>
    fs.writeFileSync(
      path.join(cwd, file),
      `export default { name: '${file}', description: 'test', needsData: false, score: ${score} };\n`,
    );

  it('a pruner whose scores all tie is refused before the dense run trains', async () => {
    const cwd = tmp();
    pruner(
      cwd,
      'flat.mjs',
      '(c) => Object.fromEntries(c.prunable.map((n) => [n, new Float64Array(c.weights[n].length).fill(1)]))',
    );
    const r = await cli(['ticket', ...DENSE, '--pruner', './flat.mjs', '--out', 'exp'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the pruner ".\/flat.mjs" fails on this model \(tried on θ0 before training the dense run\): pruner "flat.mjs" pruned \d+ of \d+ weights instead of \d+/,
    );
    oneLine(r);
    expect(fs.existsSync(path.join(cwd, 'exp')), 'no folder, no dense run').toBe(false);
  });

  it('a pruner that throws is refused before the dense run trains', async () => {
    const cwd = tmp();
    pruner(cwd, 'boom.mjs', '() => { throw new Error("kaboom"); }');
    const r = await cli(['ticket', ...DENSE, '--pruner', './boom.mjs', '--out', 'exp'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/fails on this model .*kaboom/);
    expect(fs.existsSync(path.join(cwd, 'exp'))).toBe(false);
  });
});

// --------------------------------------------------------------------------------------------
// 3. Corrupted folders: every stored file that drives execution is verified.
// --------------------------------------------------------------------------------------------
type Corruption = [
  name: string,
  fixture: 'dense' | 'partial' | 'full' | 'ticket',
  damage: (dir: string) => void | Promise<void>,
  args: (dir: string) => string[],
  expect: { code: number; stderr?: RegExp; sameAsFull?: boolean; notice?: RegExp },
];
const ckpt = (dir: string, name: string) => path.join(dir, 'checkpoints', `${name}.safetensors`);
const resumeFile = (dir: string) => path.join(dir, 'state', 'resume.safetensors');
const ticketOn = (dir: string) => [
  'ticket',
  '--dense',
  dir,
  '--arms',
  'ticket',
  '--retrain-steps',
  '20',
  '--out',
  path.join(path.dirname(dir), 'exp'),
  '--quiet',
];
const resume = (dir: string) => ['train', '--out', dir, '--resume'];

const CORRUPTIONS: Corruption[] = [
  [
    'dense: a bad line in the middle of metrics.jsonl',
    'dense',
    (d) => {
      const lines = metricsOf(d).split('\n');
      lines[4] = '{"step": 80, "train_lo';
      fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n'));
    },
    ticketOn,
    { code: 1, stderr: /metrics\.jsonl:5: not valid JSON/ },
  ],
  [
    'dense: metrics.jsonl deleted',
    'dense',
    (d) => fs.rmSync(path.join(d, 'metrics.jsonl')),
    ticketOn,
    { code: 1, stderr: /has no metrics/ },
  ],
  [
    'dense: metrics.jsonl rows out of order',
    'dense',
    (d) => {
      const lines = metricsOf(d).trim().split('\n');
      [lines[2], lines[3]] = [lines[3]!, lines[2]!];
      fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
    },
    ticketOn,
    { code: 1, stderr: /metrics\.jsonl:4: step 40 does not follow step 60/ },
  ],
  [
    'dense: summary.json deleted',
    'dense',
    (d) => fs.rmSync(path.join(d, 'summary.json')),
    ticketOn,
    { code: 1, stderr: /is not finished; resume it first/ },
  ],
  [
    'dense: a bit flip in the final checkpoint',
    'dense',
    (d) => flipBit(ckpt(d, 'final')),
    ticketOn,
    { code: 1, stderr: /final\.safetensors: tensor checksum mismatch/ },
  ],
  [
    'dense: a NaN in the final weights (checksums redone)',
    'dense',
    (d) => rewriteCheckpoint(ckpt(d, 'final'), (t) => void ((t.W_in!.data as Float32Array)[3] = NaN)),
    ticketOn,
    { code: 1, stderr: /W_in\[3\] is NaN: refusing non-finite weights/ },
  ],
  [
    'dense: an I32 dtype in the final checkpoint (checksums redone)',
    'dense',
    (d) =>
      rewriteCheckpoint(ckpt(d, 'final'), (t) => {
        const w = t.W_in!;
        t.W_in = {
          dtype: 'I32',
          shape: w.shape,
          data: new Int32Array((w.data as Float32Array).buffer.slice(0)),
        } as StoredTensor;
      }),
    ticketOn,
    { code: 1, stderr: /"W_in" has dtype I32, expected F32/ },
  ],
  [
    'dense: W_in and W_out swapped (checksums redone)',
    'dense',
    (d) => rewriteCheckpoint(ckpt(d, 'final'), (t) => void ([t.W_in, t.W_out] = [t.W_out!, t.W_in!])),
    ticketOn,
    { code: 1, stderr: /"W_in" has shape \[\d+,\d+\], expected \[\d+,\d+\]/ },
  ],
  [
    'dense: a final checkpoint from another config',
    'dense',
    async (d) => {
      const other = path.join(tmp(), 'other');
      await runTraining({ config: { ...CONFIG, steps: 20, seed: 5 }, dir: other });
      fs.copyFileSync(ckpt(other, 'final'), ckpt(d, 'final'));
    },
    ticketOn,
    { code: 1, stderr: /final\.safetensors: was written for config "\w+", but .*config\.json has \w+/ },
  ],
  [
    'dense: config.json edited',
    'dense',
    (d) => {
      const rec = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      rec.config.seed = 2;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(rec));
    },
    ticketOn,
    { code: 1, stderr: /config\.json: config does not match its hash \w+: the file was edited/ },
  ],
  [
    'dense: config.json edited with its hash redone',
    'dense',
    async (d) => {
      const { configHash } = await import('@grokking-tickets/run-store');
      const rec = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      rec.config.seed = 2;
      rec.configHash = configHash(rec.config);
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(rec));
    },
    ticketOn,
    { code: 1, stderr: /init\.safetensors: was written for config/ },
  ],
  [
    'run: a bad line in the middle of metrics.jsonl',
    'partial',
    (d) => {
      const lines = metricsOf(d).split('\n');
      lines[6] = 'garbage';
      fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.join('\n'));
    },
    resume,
    { code: 1, stderr: /metrics\.jsonl:7: not valid JSON/ },
  ],
  [
    'run: a line cut short at the end (a crash mid-append)',
    'partial',
    (d) => fs.appendFileSync(path.join(d, 'metrics.jsonl'), '{"step":320,"train_l'),
    resume,
    { code: 0, sameAsFull: true, notice: /dropped a line cut short/ },
  ],
  [
    'run: metrics.jsonl deleted',
    'partial',
    (d) => fs.rmSync(path.join(d, 'metrics.jsonl')),
    resume,
    { code: 0, sameAsFull: true, notice: /restarting from step 0/ },
  ],
  [
    'run: metrics.jsonl missing its last rows',
    'partial',
    (d) => {
      const lines = metricsOf(d).trim().split('\n');
      fs.writeFileSync(path.join(d, 'metrics.jsonl'), lines.slice(0, 5).join('\n') + '\n');
    },
    resume,
    { code: 0, sameAsFull: true, notice: /restarting from step 0/ },
  ],
  [
    'run: a NaN in the resume state (checksums redone)',
    'partial',
    (d) => rewriteCheckpoint(resumeFile(d), (t) => void ((t['adam_v/W_E']!.data as Float32Array)[0] = NaN)),
    resume,
    { code: 1, stderr: /resume\.safetensors: adam_v\/W_E\[0\] is NaN: refusing non-finite state/ },
  ],
  [
    'run: a wrong optimiser step in the resume state',
    'partial',
    (d) => rewriteCheckpoint(resumeFile(d), (_t, m) => void (m.adamStep = 7)),
    resume,
    { code: 1, stderr: /optimiser step 7 disagrees with step 300/ },
  ],
  [
    'run: a resume step beyond the run',
    'partial',
    (d) =>
      rewriteCheckpoint(resumeFile(d), (_t, m) => {
        m.step = 9000;
        m.adamStep = 9000;
      }),
    resume,
    { code: 1, stderr: /step 9000 is not an integer in \[0, 600\]/ },
  ],
  [
    'run: a negative elapsed time',
    'partial',
    (d) => rewriteCheckpoint(resumeFile(d), (_t, m) => void (m.elapsedMs = -1)),
    resume,
    { code: 1, stderr: /elapsed time -1 is not a number >= 0/ },
  ],
  [
    'run: a bit flip in the resume state',
    'partial',
    (d) => flipBit(resumeFile(d)),
    resume,
    { code: 1, stderr: /resume\.safetensors: tensor checksum mismatch/ },
  ],
  [
    'run: the resume state truncated',
    'partial',
    (d) => fs.truncateSync(resumeFile(d), 300),
    resume,
    { code: 1, stderr: /resume\.safetensors: truncated/ },
  ],
  [
    'run: the init checkpoint deleted',
    'partial',
    (d) => fs.rmSync(ckpt(d, 'init')),
    resume,
    { code: 0, sameAsFull: true, notice: /init\.safetensors was missing; written again/ },
  ],
  [
    'run: a bit flip in the init checkpoint',
    'partial',
    (d) => flipBit(ckpt(d, 'init')),
    resume,
    { code: 0, sameAsFull: true, notice: /init\.safetensors was damaged .*; written again/ },
  ],
  [
    'run: a stale resume sidecar (killed between the two renames)',
    'partial',
    (d) => {
      const side = path.join(d, 'state', 'resume.json');
      const rec = JSON.parse(fs.readFileSync(side, 'utf8'));
      rec.sha256.tensors = '0'.repeat(64);
      fs.writeFileSync(side, JSON.stringify(rec));
    },
    resume,
    { code: 0, sameAsFull: true },
  ],
  [
    'run: the resume sidecar missing (killed between the two renames of the first save)',
    'partial',
    (d) => fs.rmSync(path.join(d, 'state', 'resume.json')),
    resume,
    { code: 0, sameAsFull: true },
  ],
  [
    'run: temp files left by interrupted writes',
    'partial',
    (d) => {
      fs.writeFileSync(path.join(d, 'state', `.resume.safetensors.${process.pid}.1a2b3c4d.tmp`), 'half');
      fs.writeFileSync(path.join(d, `.metrics.jsonl.${process.pid}.deadbeef.tmp`), 'half');
    },
    resume,
    { code: 0, sameAsFull: true },
  ],
  [
    'run: a lock left by a dead process',
    'partial',
    (d) =>
      fs.writeFileSync(
        path.join(d, '.lock'),
        JSON.stringify({
          pid: 2 ** 22 - 7,
          host: os.hostname(),
          bootId: null,
          pidStart: null,
          command: 'grokking-tickets train',
          startedAt: '2026-01-01T00:00:00Z',
          token: 'x',
        }),
      ),
    resume,
    { code: 0, sameAsFull: true },
  ],
  [
    'run: a lock held by a live process',
    'partial',
    (d) =>
      fs.writeFileSync(
        path.join(d, '.lock'),
        JSON.stringify({
          pid: process.pid,
          host: os.hostname(),
          bootId: null,
          pidStart: null,
          command: 'grokking-tickets train',
          startedAt: '2026-01-01T00:00:00Z',
          token: 'x',
        }),
      ),
    resume,
    { code: 1, stderr: /is in use by grokking-tickets train \(pid \d+ on .*\); wait for it to finish or stop it/ },
  ],
  [
    'run: config.json edited',
    'partial',
    (d) => {
      const rec = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      rec.config.optimizer.lr = 0.02;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(rec));
    },
    resume,
    { code: 1, stderr: /config does not match its hash/ },
  ],
  [
    'run: made by other code versions',
    'partial',
    (d) => {
      const rec = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      rec.code.packages['@grokking-tickets/training'] = '0.0.1';
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(rec));
    },
    resume,
    {
      code: 1,
      stderr:
        /cannot resume .*: it was made by @grokking-tickets\/training 0\.0\.1, this is \d+\.\d+\.\d+; start it again with --force/,
    },
  ],
  [
    'finished run: summary.json deleted',
    'full',
    (d) => fs.rmSync(path.join(d, 'summary.json')),
    resume,
    { code: 0, sameAsFull: true },
  ],
  [
    'experiment: ticket.json edited (pruning rate)',
    'ticket',
    (d) => {
      const rec = JSON.parse(fs.readFileSync(path.join(d, 'ticket.json'), 'utf8'));
      rec.config.pruningRate = 0.3;
      fs.writeFileSync(path.join(d, 'ticket.json'), JSON.stringify(rec));
    },
    (d) => ['ticket', '--out', d, '--resume'],
    { code: 1, stderr: /ticket\.json does not match its identity hash/ },
  ],
  [
    'experiment: an arm left with only empty sub-folders',
    'ticket',
    (d) => {
      fs.rmSync(path.join(d, 'arms', 'random'), { recursive: true });
      fs.mkdirSync(path.join(d, 'arms', 'random', 'checkpoints'), { recursive: true });
      fs.mkdirSync(path.join(d, 'arms', 'random', 'state'), { recursive: true });
    },
    (d) => ['ticket', '--out', d, '--resume', '--quiet'],
    { code: 0 },
  ],
  [
    "experiment: an arm's mask edited (checksums redone)",
    'ticket',
    (d) =>
      rewriteCheckpoint(ckpt(path.join(d, 'arms', 'ticket'), 'init'), (t) => {
        const m = t['mask/W_E']!.data as Float32Array;
        m[0] = 1 - m[0]!;
      }),
    (d) => ['ticket', '--out', d, '--resume', '--quiet'],
    { code: 1, stderr: /init\.safetensors: "W_E" differs from what the experiment plans for this run/ },
  ],
  [
    'experiment: ticket.json deleted, then a new ticket into the folder',
    'ticket',
    (d) => fs.rmSync(path.join(d, 'ticket.json')),
    (d) => ['ticket', '--dense', F.dense, '--arms', 'ticket', '--out', d],
    { code: 1, stderr: /holds parts of an experiment but no ticket\.json; pass --force to start it again/ },
  ],
];

describe.concurrent('corrupted run and experiment folders', () => {
  it.each(CORRUPTIONS)('%s', async (_name, fixture, damage, args, want) => {
    const dir = copyRun(F[fixture]);
    await damage(dir);
    const before = snapshot(dir);
    const r = await cli(args(dir));
    expect(r.code, r.stderr).toBe(want.code);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (want.stderr) {
      expect(r.stderr).toMatch(want.stderr);
      oneLine(r);
    }
    if (want.notice) expect(r.stderr).toMatch(want.notice);
    if (want.code !== 0) {
      // A refused run changes nothing (the lock file it took is gone again).
      expect(snapshot(dir)).toEqual(before);
    }
    if (want.sameAsFull) {
      expect(metricsOf(dir)).toBe(metricsOf(F.full));
      const a = await loadCheckpoint(ckpt(F.full, 'final'));
      const b = await loadCheckpoint(ckpt(dir, 'final'));
      expect(b.tensorsSha256).toBe(a.tensorsSha256);
      const sa = JSON.parse(fs.readFileSync(path.join(F.full, 'summary.json'), 'utf8'));
      const sb = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
      expect(sb.stepsTo).toEqual(sa.stepsTo);
      expect(sb.final).toEqual(sa.final);
      const tmpLeft = Object.keys(snapshot(dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'));
      expect(tmpLeft, 'no temp files or lock left').toEqual([]);
    }
  });

  it('a plug-in named only in an edited ticket.json is never loaded', async () => {
    const exp = copyRun(F.ticket);
    const marker = path.join(tmp(), 'executed');
    const evil = path.join(tmp(), 'evil.mjs');
    fs.writeFileSync(
      evil,
      `import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(marker)}, 'ran'); export default { name: 'evil', description: '', needsData: false, score: () => ({}) };\n`,
    );
    const { ticketIdentity, resolveTicketConfig } = await import('@grokking-tickets/experiments');
    const rec = JSON.parse(fs.readFileSync(path.join(exp, 'ticket.json'), 'utf8'));
    rec.config.pruner = evil;
    rec.identity = ticketIdentity(resolveTicketConfig(rec.config));
    fs.writeFileSync(path.join(exp, 'ticket.json'), JSON.stringify(rec));
    for (const args of [
      ['ticket', '--out', exp, '--resume'],
      ['demo', '--out', exp],
    ]) {
      const r = await cli(args);
      expect(r.code).not.toBe(0);
      expect(fs.existsSync(marker), `${args[0]} must not execute a module named by stored state`).toBe(false);
    }
    const r = await cli(['ticket', '--out', exp, '--resume']);
    expect(r.stderr).toMatch(
      /uses the pruner ".*evil\.mjs", which is not built in; plug-ins are loaded only from names given on the command line/,
    );
  });
});

// --------------------------------------------------------------------------------------------
// 4. Concurrent writers: the folder lock refuses the second one, the first is unharmed.
// --------------------------------------------------------------------------------------------
describe('concurrent writers', () => {
  // Long enough never to finish during a test: the first process is stopped with Ctrl-C (SIGINT).
  const LONG = [...TASK, '--steps', '200000', '--eval-every', '20', '--resume-every', '200'];
  /** Rows of `dir` must equal those of the uninterrupted 600-step run wherever both have them. */
  const samePrefix = (dir: string) => {
    const ours = metricsOf(dir).trim().split('\n');
    const full = metricsOf(F.full).trim().split('\n');
    const n = Math.min(ours.length, full.length - 1); // the full run's last row is its final evaluation
    expect(n).toBeGreaterThan(5);
    expect(ours.slice(0, n)).toEqual(full.slice(0, n));
  };

  it('two train --resume on one folder: the second is refused, the first goes on unharmed', async () => {
    const dir = path.join(tmp(), 'long');
    const controller = new AbortController();
    await runTraining({
      config: { ...CONFIG, steps: 200000 },
      dir,
      signal: controller.signal,
      onEvent: (e) => e.type === 'eval' && e.row.step === 100 && controller.abort(),
    });
    const first = await startUntil(['train', '--out', dir, '--resume'], /train: resuming at step 100/);
    const second = await cli(['train', '--out', dir, '--resume']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /is in use by grokking-tickets train \(pid \d+ on .*, since .*\); wait for it to finish or stop it/,
    );
    oneLine(second);
    first.child.kill('SIGINT');
    const done = await first.exited;
    expect(done.code, done.stderr).toBe(130);
    samePrefix(dir);
  }, 300_000);

  it('train --force while another train runs: refused, the running one unharmed', async () => {
    const out = path.join(tmp(), 'run');
    const first = await startUntil(['train', ...LONG, '--out', out], /train: step \d+\/200000/);
    const record = fs.readFileSync(path.join(out, 'config.json'), 'utf8');
    const force = await cli(['train', ...TASK, '--steps', '20', '--out', out, '--force']);
    expect(force.code).toBe(1);
    expect(force.stderr).toMatch(/is in use by grokking-tickets train/);
    oneLine(force);
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(130);
    expect(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).toBe(record);
    const resumed = await startUntil(['train', '--out', out, '--resume'], /train: resuming at step \d+/);
    resumed.child.kill('SIGINT');
    expect((await resumed.exited).code).toBe(130);
  }, 300_000);

  it('ticket --resume beside a running ticket: refused', async () => {
    const out = path.join(tmp(), 'exp');
    const first = await startUntil(['ticket', ...LONG, '--arms', 'ticket', '--out', out], /dense: step \d+\/200000/);
    const second = await cli(['ticket', '--out', out, '--resume']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is in use by grokking-tickets ticket/);
    oneLine(second);
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(130);
  }, 300_000);
});

// --------------------------------------------------------------------------------------------
// 5. Kills at random points: SIGKILL, resume, repeat; the result is byte-identical.
// --------------------------------------------------------------------------------------------
/** mulberry32: a small seeded generator, so that the kill points are the same on every run of the test. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** The seed of the kill points; GT_KILL_SEED=<n> tries others. */
const KILL_SEED = Number(process.env.GT_KILL_SEED ?? 20261205);

describe('SIGKILL at random points', () => {
  it('train: five kills at seeded random steps, then resume to the end, gives the uninterrupted run exactly', async () => {
    const out = path.join(tmp(), 'killed');
    const args = [
      'train',
      ...TASK,
      '--steps',
      '600',
      '--eval-every',
      '20',
      '--checkpoint-every',
      '100',
      '--resume-every',
      '50',
      '--out',
      out,
    ];
    // Round k kills at the first progress line at or after a step drawn from 20·(1 + 3k + {0, 1, 2}): rising kill
    // points up to step 300, so that every round has at least 300 steps left to interrupt.
    const random = seededRandom(KILL_SEED);
    const points = Array.from({ length: 5 }, (_, k) => 20 * (1 + 3 * k + Math.floor(random() * 3)));
    const about = `kill seed ${KILL_SEED}, kill points ${points.join(',')}`;
    for (const [round, point] of points.entries()) {
      const exists = fs.existsSync(path.join(out, 'config.json'));
      // A round that cannot run fails the test: it is never skipped.
      const started = await startUntil(exists ? ['train', '--out', out, '--resume'] : args, (l) => {
        const m = /step (\d+)\/600/.exec(l);
        return m !== null && Number(m[1]) >= point;
      }).catch((e: Error) => {
        throw new Error(`${about}: round ${round + 1} never reached step ${point}: ${e.message}`);
      });
      started.child.kill('SIGKILL');
      const ended = await started.exited;
      expect(ended.signal, `${about}: round ${round + 1} ended before the kill (${ended.stderr.slice(-300)})`).toBe(
        'SIGKILL',
      );
    }
    const last = await cli(['train', '--out', out, '--resume', '--quiet']);
    expect(last.code, `${about}: ${last.stderr}`).toBe(0);
    expect(metricsOf(out), about).toBe(metricsOf(F.full));
    expect((await loadCheckpoint(ckpt(out, 'final'))).tensorsSha256).toBe(
      (await loadCheckpoint(ckpt(F.full, 'final'))).tensorsSha256,
    );
    for (const step of ['step-000100', 'step-000500'])
      expect((await loadCheckpoint(ckpt(out, step))).tensorsSha256).toBe(
        (await loadCheckpoint(ckpt(F.full, step))).tensorsSha256,
      );
  }, 300_000);

  it('ticket --jobs 2: a kill mid-arms, then resume, gives the uninterrupted experiment', async () => {
    const out = path.join(tmp(), 'exp');
    const args = [
      'ticket',
      '--dense',
      F.dense,
      '--arms',
      'ticket,random,same-l2',
      '--retrain-steps',
      '400',
      '--eval-every',
      '20',
      '--jobs',
      '2',
      '--out',
      out,
    ];
    const started = await startUntil(args, /(ticket|random|same-l2): step (1[2-9]\d|[2-3]\d\d)\/400/);
    started.child.kill('SIGKILL');
    await started.exited;
    const resumed = await cli(['ticket', '--out', out, '--resume', '--jobs', '2', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const clean = path.join(tmp(), 'clean');
    expect(
      (
        await cli([
          'ticket',
          '--dense',
          F.dense,
          '--arms',
          'ticket,random,same-l2',
          '--retrain-steps',
          '400',
          '--out',
          clean,
          '--quiet',
        ])
      ).code,
    ).toBe(0);
    for (const arm of ['ticket', 'random', 'same-l2'])
      expect(metricsOf(path.join(out, 'arms', arm)), arm).toBe(metricsOf(path.join(clean, 'arms', arm)));
  }, 300_000);
});

// --------------------------------------------------------------------------------------------
// 6. A full disk (a small tmpfs, where this machine lets the test mount one).
// --------------------------------------------------------------------------------------------
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const DISK = tmp('gt-disk-');
const canMount = mountTmpfs(DISK, '64k') && (execFileSync('umount', [DISK]), true);

describe('a full disk', () => {
  it.skipIf(!canMount)('train into a full disk: one line naming ENOSPC, exit 1, no temp files left', async () => {
    const dir = tmp('gt-full-');
    expect(mountTmpfs(dir, '160k')).toBe(true);
    try {
      const r = await cli(['train', ...DENSE, '--out', path.join(dir, 'run')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ENOSPC/);
      oneLine(r);
      const left = Object.keys(snapshot(dir)).filter((f) => f.endsWith('.tmp'));
      expect(left).toEqual([]);
    } finally {
      execFileSync('umount', [dir]);
    }
  });
  if (!canMount) it.skip('full disk: needs permission to mount a tmpfs (run the tests as root on Linux)', () => {});
});
