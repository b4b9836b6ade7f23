import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

const SMALL = [
  '--p',
  '11',
  '--train-fraction',
  '0.5',
  '--lr',
  '0.01',
  '--eval-every',
  '20',
  '--seed',
  '1',
  '--backend',
  'wasm',
  '--quiet',
];
const oneLine = (stderr: string) =>
  expect(
    stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('(run with --help')),
    stderr,
  ).toHaveLength(1);

describe('grokking-tickets analyze and report', () => {
  it('train --report writes report.html and prints its path (also in --json)', async () => {
    const out = path.join(tmp(), 'run');
    const r = await cli([
      'train',
      ...SMALL,
      '--steps',
      '100',
      '--checkpoint-every',
      '50',
      '--analysis-every',
      '50',
      '--out',
      out,
      '--report',
    ]);
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
    expect(
      (
        await cli([
          'train',
          ...SMALL,
          '--steps',
          '100',
          '--checkpoint-every',
          '50',
          '--analysis-every',
          '0',
          '--out',
          out,
        ])
      ).code,
    ).toBe(0);
    const a = await cli(['analyze', out, '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const lines = a.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${path.join(out, 'analysis.jsonl')} (3 checkpoints)`);
    // the structural dynamics and graph metrics of the dense run, summarised one line each
    expect(lines[1]).toMatch(new RegExp(`^${path.join(out, 'structure.json')}: largest ticket change `));
    expect(lines.slice(2).map((l) => l.split(': ')[1])).toEqual([
      'grokking ticket',
      ...(lines.length === 6 ? ['memorisation ticket'] : []),
      'random (per-tensor counts)',
      'random (uniform)',
    ]);
    const structure = JSON.parse(fs.readFileSync(path.join(out, 'structure.json'), 'utf8'));
    expect(structure.rows.map((x: { step: number }) => x.step)).toEqual([0, 50, 100]);
    expect(structure.ticket.pruningRate).toBe(0.6);
    const graph = JSON.parse(fs.readFileSync(path.join(out, 'graph.json'), 'utf8'));
    expect(graph.masks[0]).toMatchObject({ name: 'grokking ticket', step: 100 });
    // flags: another rate, no graph; bad values are usage errors
    const b = await cli(['analyze', out, '--quiet', '--pruning-rate', '0.9', '--no-graph', '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toEqual([
      {
        dir: out,
        file: path.join(out, 'analysis.jsonl'),
        checkpoints: 3,
        structure: path.join(out, 'structure.json'),
        graph: null,
      },
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'structure.json'), 'utf8')).ticket.pruningRate).toBe(0.9);
    for (const flags of [
      ['--pruning-rate', '1'],
      ['--sparsity-threshold', '-0.1'],
      ['--memorization-step', 'x'],
      ['--change-after', '-1'],
    ]) {
      const u = await cli(['analyze', out, ...flags]);
      expect(u.code, flags.join(' ')).toBe(2);
      oneLine(u.stderr);
    }
    const m = await cli(['analyze', out, '--memorization-step', '70']);
    expect(m.code).toBe(1);
    oneLine(m.stderr);
    expect(m.stderr).toMatch(/holds no checkpoint at step 70 for the memorisation ticket \(steps: 0, 50, 100\)/);
    const rows = fs
      .readFileSync(path.join(out, 'analysis.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => [x.checkpoint, x.step])).toEqual([
      ['init', 0],
      ['step-000050', 50],
      ['final', 100],
    ]);
    expect(rows.every((x) => typeof x.freq_entropy_in === 'number' && typeof x.restricted_loss_all === 'number')).toBe(
      true,
    );
    const r = await cli(['report', 'run', '--format', 'md', '--out', 'docs/run.md', '--quiet'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('docs/run.md');
    const md = fs.readFileSync(path.join(root, 'docs', 'run.md'), 'utf8');
    expect(md).toContain('| run | run | mlp | 100 | 20 | analysis.jsonl (3 points) | final |');
    expect(md).toContain('![Fourier structure over time](run-frequency.svg)');
    expect(fs.readFileSync(path.join(root, 'docs', 'run-frequency.svg'), 'utf8')).toMatch(/^<svg /);
    expect(md).toContain('![Structural dynamics of run](run-structure-run.svg)');
    expect(md).toContain('## Structural change and generalisation');
    expect(md).toContain('| run | grokking ticket |');
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
    expect(j).toMatchObject({
      file: path.join(root, 'r.html'),
      format: 'html',
      runs: ['run'],
      skipped: [
        {
          reason: `${path.join(root, 'empty')} is not a run, experiment or sweep folder (it has no sweep.json, no ticket.json, no config.json)`,
        },
      ],
    });
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

  it('report <sweep folder>: a sweep made by `sweep` is drawn from its results; mixed with a run; a damaged row is skipped with its line', async () => {
    const cwd = tmp('gt-sweep-report-');
    // E3 in miniature, smaller still: 2 seeds x 2 pruning rates, 100 steps (2 dense runs, 4 tickets, 2 dense arms).
    const file = path.join(cwd, 'mini.yaml');
    fs.writeFileSync(
      file,
      [
        'name: mini',
        'kind: ticket',
        'base:',
        '  dense: { task: { p: 11, trainFraction: 0.5 }, model: { kind: mlp, dEmb: 24, dModel: 12 }, optimizer: { lr: 0.01 }, steps: 100, evalEvery: 20, backend: wasm }',
        '  arms: [ticket, dense]',
        '  retrain: { weightDecay: 0 }',
        'axes:',
        '  seed: [0, 1]',
        '  pruningRate: [0.5, 0.8]',
        '',
      ].join('\n'),
    );
    const sweep = await cli(['sweep', file, '--out', 'sweeps/mini', '--runs', 'runs', '--jobs', '2', '--quiet'], {
      cwd,
    });
    expect(sweep.code, sweep.stderr).toBe(0);
    const r = await cli(['report', 'sweeps/mini', '--out', 'sweeps/mini/report.html', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      file: 'sweeps/mini/report.html',
      format: 'html',
      runs: [],
      sweeps: ['mini'],
      skipped: [],
    });
    const html = fs.readFileSync(path.join(cwd, 'sweeps/mini/report.html'), 'utf8');
    expect(html).toContain('<h1>Sweep mini</h1>');
    for (const id of ['speedup', 'steps', 'final-test-accuracy'])
      expect(html).toContain(`<figure id="fig-sweep-mini-${id}" class="plot">`);
    // The summary rows agree with the results file: per pruning rate, both seeds' tickets finished, and their median
    // final test accuracy.
    const rows = fs
      .readFileSync(path.join(cwd, 'sweeps/mini/sweep-results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(8);
    for (const rate of [0.5, 0.8]) {
      const accs = rows.filter((x) => x.arm === 'ticket' && x.pruningRate === rate).map((x) => x.finalTestAcc);
      const median = ((accs[0] + accs[1]) / 2) * 100;
      expect(html).toContain(`<tr><td>ticket</td><td>${rate}</td><td>2</td><td>0</td><td>0</td>`);
      expect(html).toMatch(
        new RegExp(`<tr><td>ticket</td><td>${rate}</td>(<td>[^<]*</td>){8}<td>${median.toFixed(1)} %</td>`),
      );
    }
    expect(html).toContain('<tr><td>dense</td><td>all</td><td>2</td><td>0</td><td>0</td>');
    expect(html).toMatch(/<section id="table-sweep-mini-critical-rate"><h2>Critical pruning rate r\* per seed<\/h2>/);
    // Mixed with a run folder, as Markdown: the sweep part, then the runs part, SVG files beside it.
    const dense = rows.find((x) => x.role === 'dense-source' && x.seed === 0);
    const runDir = path.join('sweeps/mini', dense.dir);
    const md = await cli(['report', 'sweeps/mini', runDir, '--format', 'md', '--out', 'docs/mixed.md'], { cwd });
    expect(md.code, md.stderr).toBe(0);
    expect(md.stderr).toMatch(/^report: sweep mini and 1 run \(add11-mlp-s0-[0-9a-f]+\) in \d+\.\d s$/m);
    const text = fs.readFileSync(path.join(cwd, 'docs/mixed.md'), 'utf8');
    expect(text.indexOf('## Sweep mini')).toBeGreaterThan(0);
    expect(text.indexOf('## Runs')).toBeGreaterThan(text.indexOf('## Sweep mini'));
    for (const svg of ['mixed-sweep-mini-speedup.svg', 'mixed-sweep-mini-steps.svg', 'mixed-accuracy.svg'])
      expect(fs.readFileSync(path.join(cwd, 'docs', svg), 'utf8')).toMatch(/^<svg /);
    // A damaged results line: skipped with its file and line, the rest reported.
    fs.appendFileSync(path.join(cwd, 'sweeps/mini/sweep-results.jsonl'), '{"runId": "cut sh\n');
    const d = await cli(['report', 'sweeps/mini'], { cwd });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toContain(
      `report: skipped ${path.join('sweeps/mini', 'sweep-results.jsonl')}:9: not valid JSON; row left out\n`,
    );
    expect(d.stdout.trim()).toBe('report.html');
  });

  it('ticket --report: every arm in one report, path printed', async () => {
    const out = path.join(tmp(), 'ticket');
    const r = await cli([
      'ticket',
      ...SMALL,
      '--steps',
      '120',
      '--arms',
      'ticket,dense,random',
      '--out',
      out,
      '--report',
    ]);
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
