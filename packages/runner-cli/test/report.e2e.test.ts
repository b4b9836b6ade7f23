import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

const SMALL = ['--p', '11', '--train-fraction', '0.5', '--lr', '0.01', '--eval-every', '20', '--seed', '1', '--backend', 'wasm', '--quiet'];
const oneLine = (stderr: string) => expect(stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help')), stderr).toHaveLength(1);

describe('grokking-tickets analyze and report', () => {
  it('train --report writes report.html and prints its path (also in --json)', async () => {
    const out = path.join(tmp(), 'run');
    const r = await cli(['train', ...SMALL, '--steps', '100', '--checkpoint-every', '50', '--analysis-every', '50', '--out', out, '--report']);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(out, 'report.html');
    expect(r.stdout).toContain(`report: ${file}`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<h1>Run run</h1>');
    expect(html).toContain('<figure id="fig-frequency"');
    const j = await cli(['train', '--out', out, '--resume', '--json', '--report']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'already-finished', report: file });
  });

  it('analyze writes analysis.jsonl for a run trained without analysis; report then draws it', async () => {
    const root = tmp();
    const out = path.join(root, 'run');
    expect((await cli(['train', ...SMALL, '--steps', '100', '--checkpoint-every', '50', '--analysis-every', '0', '--out', out])).code).toBe(0);
    const a = await cli(['analyze', out, '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe(`${path.join(out, 'analysis.jsonl')} (3 checkpoints)`);
    const rows = fs.readFileSync(path.join(out, 'analysis.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.checkpoint, x.step])).toEqual([
      ['init', 0],
      ['step-000050', 50],
      ['final', 100],
    ]);
    expect(rows.every((x) => typeof x.freq_entropy_in === 'number' && typeof x.restricted_loss_all === 'number')).toBe(true);
    const r = await cli(['report', 'run', '--format', 'md', '--out', 'docs/run.md', '--quiet'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('docs/run.md');
    const md = fs.readFileSync(path.join(root, 'docs', 'run.md'), 'utf8');
    expect(md).toContain('| run | run | mlp | 100 | 20 | analysis.jsonl (3 points) | final |');
    expect(md).toContain('![Fourier structure over time](run-frequency.svg)');
    expect(fs.readFileSync(path.join(root, 'docs', 'run-frequency.svg'), 'utf8')).toMatch(/^<svg /);
    // analyze: not a run → exit 1, one line
    const bad = await cli(['analyze', path.join(root, 'docs')]);
    expect(bad.code).toBe(1);
    oneLine(bad.stderr);
    expect(bad.stderr).toMatch(/holds no run \(no config\.json\)/);
  });

  it('report: skipped inputs are listed, the rest reported; nothing usable is exit 1, bad usage exit 2', async () => {
    const root = tmp();
    const out = path.join(root, 'run');
    expect((await cli(['train', ...SMALL, '--steps', '40', '--out', out])).code).toBe(0);
    fs.mkdirSync(path.join(root, 'empty'));
    const r = await cli(['report', out, path.join(root, 'empty'), '--out', path.join(root, 'r.html'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ file: path.join(root, 'r.html'), format: 'html', runs: ['run'], skipped: [{ reason: `${path.join(root, 'empty')} is not a run or experiment folder (it has no ticket.json, no config.json)` }] });
    expect(fs.readFileSync(path.join(root, 'r.html'), 'utf8')).toContain('<h2>Skipped inputs</h2>');
    const none = await cli(['report', path.join(root, 'empty'), path.join(root, 'missing')], { cwd: root });
    expect(none.code).toBe(1);
    oneLine(none.stderr);
    expect(none.stderr).toMatch(/^grokking-tickets: error: nothing to report: every input was skipped/);
    expect(fs.existsSync(path.join(root, 'report.html'))).toBe(false);
    for (const args of [['report'], ['report', out, '--format', 'pdf'], ['report', out, '--baseline', 'nonesuch']]) {
      const u = await cli(args, { cwd: root });
      expect(u.code, `${args.join(' ')}: ${u.stderr}`).toBe(2);
      oneLine(u.stderr);
    }
  });

  it('ticket --report: every arm in one report, path printed', async () => {
    const out = path.join(tmp(), 'ticket');
    const r = await cli(['ticket', ...SMALL, '--steps', '120', '--arms', 'ticket,dense,random', '--out', out, '--report']);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(out, 'report.html');
    expect(r.stdout).toContain(`report: ${file}`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<h1>Ticket experiment ticket</h1>');
    for (const arm of ['ticket', 'dense', 'random']) expect(html).toContain(`<td>${arm}</td>`);
    expect(html).toContain('<figure id="fig-mask-ticket"');
    expect(html).toContain('<figure id="fig-mask-random"');
    expect(html).toMatch(/<td>ticket – random<\/td><td>0\.\d{4}<\/td>/);
  });
});
