import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gt-cli-ticket-'));
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
  '150',
  '--eval-every',
  '10',
  '--seed',
  '1',
  '--backend',
  'wasm',
  '--quiet',
];

describe('grokking-tickets ticket', () => {
  it('runs dense → prune → rewind → retrain with controls and prints the table', () => {
    const out = path.join(tmp(), 'ticket');
    const r = run([
      'ticket',
      ...SMALL,
      '--arms',
      'ticket,dense,same-l1,same-l2,random',
      '--pruning-rate',
      '0.5',
      '--weight-decay',
      '0',
      '--jobs',
      '2',
      '--out',
      out,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pruner magnitude on final, pruning rate 0\.5/);
    for (const arm of ['ticket', 'dense', 'same-l1', 'same-l2', 'random'])
      expect(r.stdout).toMatch(new RegExp(`^${arm} `, 'm'));
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'ticket-summary.json'), 'utf8'));
    expect(summary.arms).toHaveLength(5);
    // --weight-decay is the retraining λ; the dense run keeps the paper's λ = 1
    expect(
      JSON.parse(fs.readFileSync(path.join(out, 'arms', 'ticket', 'config.json'), 'utf8')).config.optimizer.weightDecay,
    ).toBe(0);
    expect(
      JSON.parse(fs.readFileSync(path.join(out, 'dense-source', 'config.json'), 'utf8')).config.optimizer.weightDecay,
    ).toBe(1);
    // reuse the finished dense run for a memorisation-phase ticket
    const out2 = path.join(tmp(), 'mem');
    const r2 = run([
      'ticket',
      '--dense',
      path.join(out, 'dense-source'),
      '--from-step',
      '40',
      '--arms',
      'ticket',
      '--quiet',
      '--out',
      out2,
    ]);
    expect(r2.stderr).toMatch(/no checkpoint "step-000040" \(available: final, init\)/);
    expect(r2.code).toBe(1);
    const r2b = run(['ticket', '--dense', '/nonexistent/run', '--quiet', '--out', path.join(tmp(), 'x')]);
    expect(r2b.stderr).toMatch(/holds no run/);
    expect(r2b.code).toBe(1);
    // reusing a dense run (no training in this process yet) with a pruning-at-initialisation arm
    const out3 = path.join(tmp(), 'pai');
    const r3 = run([
      'ticket',
      '--dense',
      path.join(out, 'dense-source'),
      '--arms',
      'ticket,snip',
      '--retrain-steps',
      '30',
      '--quiet',
      '--out',
      out3,
    ]);
    expect(r3.stderr).toBe('');
    expect(r3.code).toBe(0);
    expect(r3.stdout).toMatch(/^snip /m);
    // a pruner from its own package, by package name
    const r4 = run([
      'ticket',
      '--dense',
      path.join(out, 'dense-source'),
      '--pruner',
      '@grokking-tickets/pruner-magnitude-increase',
      '--arms',
      'ticket',
      '--retrain-steps',
      '30',
      '--quiet',
      '--out',
      path.join(tmp(), 'mi'),
    ]);
    expect(r4.stderr).toBe('');
    expect(r4.stdout).toMatch(/pruner @grokking-tickets\/pruner-magnitude-increase on final/);
  });

  it.each([
    ['pruning rate 1', ['--pruning-rate', '1'], /pruningRate: must be < 1, got 1/],
    ['unknown arm', ['--arms', 'ticket,lottery'], /unknown arm "lottery"/],
    ['unknown pruner', ['--pruner', 'nonesuch'], /nonesuch.*(built-in|known)/i],
  ])('bad input: %s', (_name, args, message) => {
    const r = run(['ticket', ...SMALL, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(r.cwd, 'runs')), 'nothing written').toBe(false);
  });
  it('--stack 1 (arms one by one) and --stack 3 give the same arms; --stack must be a positive integer', () => {
    const root = tmp();
    const args = (stack: string, out: string) => [
      'ticket',
      ...SMALL,
      '--arms',
      'ticket,random,same-l2',
      '--stack',
      stack,
      '--out',
      path.join(root, out),
    ];
    expect(run(args('1', 'plain')).code).toBe(0);
    expect(run(args('3', 'stacked')).code).toBe(0);
    for (const arm of ['ticket', 'random', 'same-l2']) {
      const rows = (out: string) => fs.readFileSync(path.join(root, out, 'arms', arm, 'metrics.jsonl'), 'utf8');
      expect(rows('stacked')).toBe(rows('plain'));
      expect(rows('stacked').trim().split('\n')).toHaveLength(16);
    }
    const bad = run(['ticket', ...SMALL, '--stack', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--stack/);
  });
});
