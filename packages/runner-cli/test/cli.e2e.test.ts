import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startUntil } from './helpers.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-cli-'));
const run = (args: string[], cwd = tmp()) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, cwd };
};
const SMALL = [
  '--p',
  '11',
  '--train-fraction',
  '0.5',
  '--lr',
  '0.01',
  '--steps',
  '200',
  '--eval-every',
  '20',
  '--seed',
  '1',
  '--backend',
  'wasm',
];

describe('grokking-tickets train', () => {
  it('trains a small task end to end and writes the run folder', () => {
    const out = path.join(tmp(), 'run');
    const r = run(['train', ...SMALL, '--out', out]);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run folder: ${out}`);
    expect(r.stdout).toMatch(/train accuracy >= 95%: step \d+/);
    expect(r.stdout).toMatch(/test accuracy {2}>= 95%: /);
    expect(r.stderr).toMatch(/train: step 200\/200 train_acc 100\.0%/); // plain progress lines off a TTY
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'summary.json',
      'checkpoints/init.safetensors',
      'checkpoints/final.safetensors',
    ])
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(11);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).config;
    expect(cfg).toMatchObject({
      steps: 200,
      seed: 1,
      task: { p: 11, trainFraction: 0.5 },
      optimizer: { lr: 0.01, weightDecay: 1 },
    });

    // same folder again: refused, nothing touched
    const before = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8');
    const again = run(['train', ...SMALL, '--out', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already exists; pass --resume to continue it or --force to overwrite it/);
    expect(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')).toBe(before);
    // --resume on a finished run is a no-op; conflicting flags are refused
    expect(run(['train', '--out', out, '--resume']).stdout).toMatch(/already finished/);
    const changed = run(['train', '--out', out, '--resume', '--steps', '300']);
    expect(changed.stderr).toMatch(/--resume: the given settings differ from the config stored in/);
    expect(changed.code).toBe(2);
  });

  it('a run killed with SIGKILL resumes from its last checkpoint and ends with the same metrics', async () => {
    const args = [
      '--p',
      '13',
      '--lr',
      '0.01',
      '--steps',
      '3000',
      '--eval-every',
      '50',
      '--resume-every',
      '200',
      '--seed',
      '2',
      '--backend',
      'wasm',
    ];
    const full = path.join(tmp(), 'full');
    expect(run(['train', ...args, '--quiet', '--out', full]).code).toBe(0);
    const part = path.join(tmp(), 'part');
    // Killed once it reports step 450 (past the resume saves at 200 and 400): event-driven, so a
    // slow machine only makes the kill come later, never too early.
    const started = await startUntil(
      ['train', ...args, '--out', part],
      (l) => /train: step (\d+)\/3000/.test(l) && Number(/step (\d+)/.exec(l)![1]) >= 450,
    );
    started.child.kill('SIGKILL');
    await started.exited;
    expect(fs.existsSync(path.join(part, 'summary.json'))).toBe(false);
    const resumed = run(['train', '--out', part, '--resume', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(fs.readFileSync(path.join(part, 'metrics.jsonl'), 'utf8')).toBe(
      fs.readFileSync(path.join(full, 'metrics.jsonl'), 'utf8'),
    );
    const sa = JSON.parse(fs.readFileSync(path.join(full, 'summary.json'), 'utf8'));
    const sb = JSON.parse(fs.readFileSync(path.join(part, 'summary.json'), 'utf8'));
    expect(sb.final).toEqual(sa.final);
    expect(sb.stepsTo).toEqual(sa.stepsTo);
  }, 120000);
});

describe('bad input: one line, non-zero exit', () => {
  it('an unwritable output path and a forced unavailable backend are runtime errors (exit 1)', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const w = run(['train', '--p', '5', '--steps', '5', '--out', path.join(dir, 'file', 'run')], dir);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/cannot create .*file\/run: (ENOTDIR|EEXIST)/);
    expect(w.stderr.trim().split('\n')).toHaveLength(1);
    const b = run(['train', '--backend', 'tensorflow', '--steps', '5', '--p', '5']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      /backend 'tensorflow' was requested but cannot be used: @tensorflow\/tfjs-node could not be loaded/,
    );
    expect(fs.existsSync(path.join(b.cwd, 'runs'))).toBe(false);
  });

  it('--help works on every command, with defaults and examples; --version is the package version', () => {
    for (const cmd of [[], ['train'], ['ticket'], ['analyze'], ['report'], ['demo'], ['bench']]) {
      const r = run([...cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: grokking-tickets/);
      if (cmd.length) expect(r.stdout).toMatch(/Examples:\n {2}\$ (grokking-tickets|npm run demo)/);
    }
    expect(run(['train', '--help']).stdout).toMatch(/--lr <x> +AdamW learning rate \(default: 0\.001\)/);
    expect(run(['ticket', '--help']).stdout).toMatch(/--weight-decay <x> +weight decay λ of every retrained arm/);
    expect(run(['--help']).stdout).toMatch(/Exit codes: 0 done, 1 runtime error.*2 usage error.*130 interrupted/s);
    const version = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
    expect(run(['--version']).stdout.trim()).toBe(version);
  });

  it('--json prints the summary as JSON on stdout', () => {
    const out = path.join(tmp(), 'run');
    const r = run(['train', ...SMALL, '--steps', '40', '--out', out, '--json', '--quiet']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ status: 'finished', dir: out, step: 40, summary: { steps: 40, evalEvery: 20 } });
    expect(JSON.parse(run(['train', '--out', out, '--resume', '--json']).stdout).status).toBe('already-finished');
  });
});

describe('grokking-tickets export --to reference', () => {
  const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  const CHECK = fileURLToPath(new URL('./fixtures/check_reference_export.py', import.meta.url));
  it.skipIf(!HAS_NUMPY).each([['mlp'], ['transformer']])(
    '%s: the reference state_dict names and shapes, and a numpy forward written like the reference gives the logged metrics',
    (model) => {
      const run = path.join(tmp(), 'run');
      expect(
        spawnSync(process.execPath, [
          BIN,
          'train',
          ...SMALL,
          '--model',
          model,
          '--steps',
          '100',
          '--out',
          run,
          '--quiet',
        ]).status,
      ).toBe(0);
      const e = spawnSync(process.execPath, [BIN, 'export', run, '--to', 'reference', '--json'], { encoding: 'utf8' });
      expect(e.status, e.stderr).toBe(0);
      const file = JSON.parse(e.stdout).file as string;
      expect(file).toBe(path.join(run, 'export', 'final.reference.safetensors'));
      const check = spawnSync('python3', [CHECK, file, run], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      const got = JSON.parse(check.stdout);
      expect(got.problems).toEqual([]);
      expect(got.keys).toBe(model === 'mlp' ? 8 : 17);
    },
  );
  it('bad input: not a run, an unknown checkpoint, an unknown target', () => {
    expect(run(['export', tmp()]).stderr).toMatch(/holds no run \(no config\.json\)/);
    const r = run(['export', '/nonexistent', '--to', 'onnx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--to must be "reference", got "onnx"/);
  });
});
