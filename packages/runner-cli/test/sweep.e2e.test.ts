import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cli, startUntil, tmp } from './helpers.js';

// The sweep of the issue's "done means": 3 seeds x 9 pruning rates, with tiny configs (p = 11, 300 steps).
const RATES_SWEEP = fs.readFileSync(new URL('../../../examples/sweeps/tiny-rates.yaml', import.meta.url), 'utf8');
const TIMING = new Set(['wallTimeSec', 'msPerStep']);

/** The CSV without its timing columns (the only values that differ between two runs of the same sweep). */
function csvWithoutTimes(file: string): string[][] {
  const [header, ...rows] = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const keep = header!.map((h, i) => (TIMING.has(h) ? -1 : i)).filter((i) => i >= 0);
  return [header!, ...rows].map((r) => keep.map((i) => r[i]!));
}

function writeSweep(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('grokking-tickets sweep', () => {
  it('3 seeds x 9 rates: one command; interrupted with SIGINT and rerun, the results equal an uninterrupted sweep', async () => {
    const cwd = tmp('gt-sweep-cli-');
    const file = writeSweep(cwd, 'rates.yaml', RATES_SWEEP);
    // Uninterrupted.
    const a = await cli(['sweep', file, '--out', 'a/sweep', '--runs', 'a/runs', '--jobs', '2'], { cwd });
    expect(a.stderr).toMatch(/^sweep: 33 runs: 0 finished already, 33 to run$/m);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^sweep tiny-rates: 33 runs: 33 finished, 0 failed$/m);
    // Interrupted once a few tickets have finished, then run again.
    let finished = 0;
    const b = await startUntil(
      ['sweep', file, '--out', 'b/sweep', '--runs', 'b/runs', '--jobs', '2'],
      (l) => /^sweep: finished seed \d, pruningRate/.test(l) && ++finished === 4,
      { cwd },
    );
    b.child.kill('SIGINT');
    const stopped = await b.exited;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/sweep: interrupted; run the same command again to continue/);
    const partial = csvWithoutTimes(path.join(cwd, 'b/sweep/sweep-results.csv'));
    const status = partial[0]!.indexOf('status');
    expect(partial.slice(1).filter((r) => r[status] === 'finished').length).toBeGreaterThanOrEqual(4);
    expect(partial.slice(1).filter((r) => r[status] !== 'finished').length).toBeGreaterThan(0);
    const again = await cli(['sweep', file, '--out', 'b/sweep', '--runs', 'b/runs', '--jobs', '2'], { cwd });
    expect(again.code).toBe(0);
    const skipped = Number(/^sweep: 33 runs: (\d+) finished already/m.exec(again.stderr)?.[1]);
    expect(skipped).toBeGreaterThanOrEqual(4);
    const csvA = csvWithoutTimes(path.join(cwd, 'a/sweep/sweep-results.csv'));
    const dir = csvA[0]!.indexOf('dir');
    const noDir = (rows: string[][]) =>
      rows.map((r) => r.map((c, i) => (i === dir ? c.replace(/^\.\.\/runs\//, '') : c)));
    expect(noDir(csvWithoutTimes(path.join(cwd, 'b/sweep/sweep-results.csv')))).toEqual(noDir(csvA));
    // A third run trains nothing; --dry-run plans without writing; --report draws the sweep.
    const dry = await cli(['sweep', file, '--out', 'c/sweep', '--runs', 'b/runs', '--dry-run', '--json'], { cwd });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      status: 'planned',
      runs: 33,
      byRole: { 'dense-source': 3, arm: 30, train: 0 },
      finished: 33,
    });
    expect(fs.existsSync(path.join(cwd, 'c'))).toBe(false);
    const third = await cli(['sweep', file, '--out', 'b/sweep', '--runs', 'b/runs', '--quiet', '--report', '--json'], {
      cwd,
    });
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).report).toBe(path.join('b', 'sweep', 'report.html'));
    expect(fs.readFileSync(path.join(cwd, 'b/sweep/report.html'), 'utf8')).toMatch(/Sweep tiny-rates/);
    const log = fs.readdirSync(path.join(cwd, 'b/sweep/logs'));
    expect(log).toHaveLength(33);

    // The results files: 3 dense runs, 27 tickets, 3 dense arms without weight decay (one per seed, for every rate).
    const rows = fs
      .readFileSync(path.join(cwd, 'a/sweep/sweep-results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(33);
    expect(rows.filter((r) => r.role === 'dense-source').map((r) => r.seed)).toEqual([0, 1, 2]);
    const denseArms = rows.filter((r) => r.arm === 'dense');
    expect(denseArms.map((r) => [r.seed, r.weightDecay, r.retrainWeightDecay, r.pruningRate, r.points.length])).toEqual(
      [
        [0, 1, 0, null, 9],
        [1, 1, 0, null, 9],
        [2, 1, 0, null, 9],
      ],
    );
    const tickets = rows.filter((r) => r.arm === 'ticket');
    expect(tickets.map((r) => r.pruningRate)).toEqual(
      [0, 1, 2].flatMap(() => [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95]),
    );
    const N = 24 * 11 + 12 * 24 + 24 * 12 + 24 * 11;
    for (const t of tickets) {
      expect(t).toMatchObject({
        status: 'finished',
        arm: 'ticket',
        weightDecay: 1,
        retrainWeightDecay: 0,
        steps: 300,
        totalWeights: N,
        keptWeights: N - Math.floor(t.pruningRate * N),
        axes: { seed: t.seed, pruningRate: t.pruningRate },
      });
      expect(t.finalTrainAcc).toBeGreaterThanOrEqual(0);
      if (t.stepsToTest95 !== null && t.denseStepsToTest95 !== null)
        expect(t.speedupVsDense).toBeCloseTo(t.denseStepsToTest95 / t.stepsToTest95, 12);
      // every ticket of a seed was pruned from that seed's one dense run, and is compared with its dense arm
      const dense = rows.find((r) => r.role === 'dense-source' && r.seed === t.seed);
      expect(dense.points).toContain(t.points[0]);
      expect(t.denseStepsToTest95).toBe(denseArms[t.seed].stepsToTest95);
    }
    const sweepJson = JSON.parse(fs.readFileSync(path.join(cwd, 'a/sweep/sweep.json'), 'utf8'));
    expect(sweepJson).toMatchObject({
      format: 1,
      name: 'tiny-rates',
      kind: 'ticket',
      runsDir: '../runs',
      axes: [{ name: 'seed', values: [0, 1, 2] }, { name: 'pruningRate' }],
    });
    expect(sweepJson.points).toHaveLength(27);
    expect(sweepJson.runs).toHaveLength(33);
  }, 900_000);

  it.each([
    [
      'an unknown axis',
      'kind: ticket\naxes:\n  seeds: [0, 1]\n',
      /rates\.yaml: axes: unknown axis "seeds" \(axes: seed, /,
    ],
    [
      'a bad value',
      'kind: ticket\naxes:\n  pruningRate: [0.5, 1.5]\n',
      /rates\.yaml: axes\.pruningRate\[1\]: must be < 1, got 1\.5/,
    ],
    [
      'an empty grid',
      'kind: train\naxes:\n  seed: []\n',
      /rates\.yaml: axes\.seed: an empty list makes the grid empty/,
    ],
    [
      'an invalid run',
      'kind: ticket\nbase: { dense: { steps: 100 } }\naxes:\n  fromStep: [50, 200]\n',
      /rates\.yaml: point 1 \(fromStep 200\): fromStep: step 200 is beyond the dense run's 100 steps/,
    ],
    ['malformed YAML', 'kind: train\naxes: [\n', /rates\.yaml:\d+:\d+: not valid YAML: /],
  ])('a sweep file with %s is a usage error (exit 2, one line, nothing written)', async (_what, text, message) => {
    const cwd = tmp('gt-sweep-bad-');
    writeSweep(cwd, 'rates.yaml', text);
    const r = await cli(['sweep', 'rates.yaml'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.readdirSync(cwd)).toEqual(['rates.yaml']);
  });

  it('an unreachable Redis is a one-line error, not a hang; a bad URL is a usage error', async () => {
    const cwd = tmp('gt-sweep-q-');
    writeSweep(cwd, 'rates.yaml', RATES_SWEEP);
    const port = await freePort(); // nothing listens there
    const r = await cli(['sweep', 'rates.yaml', '--queue', `redis://127.0.0.1:${port}`], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `grokking-tickets: error: cannot reach Redis at redis://127.0.0.1:${port} (ECONNREFUSED); is redis-server running there and reachable from this machine?`,
    );
    const w = await cli(['worker', '--queue', `redis://127.0.0.1:${port}`, '--out', path.join(cwd, 'shared')]);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    const bad = await cli(['worker', '--queue', 'http://127.0.0.1:6379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /--queue must be a Redis URL such as redis:\/\/host:6379, got "http:\/\/127\.0\.0\.1:6379"/,
    );
  });

  it('a worker whose output folder is not writable stops with a one-line error', async () => {
    const cwd = tmp('gt-worker-');
    fs.writeFileSync(path.join(cwd, 'a-file'), 'x');
    const r = await cli(['worker', '--queue', 'redis://127.0.0.1:6379', '--out', path.join(cwd, 'a-file', 'runs')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^grokking-tickets: error: cannot write to the output folder .*a-file\/runs \((ENOTDIR|EEXIST)\); a worker writes run folders there/,
    );
    if (process.getuid?.() !== 0) {
      // Permissions do not stop root; as another user a read-only folder is refused too.
      const ro = path.join(cwd, 'ro');
      fs.mkdirSync(ro, { mode: 0o555 });
      const r2 = await cli(['worker', '--queue', 'redis://127.0.0.1:6379', '--out', ro]);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toMatch(/cannot write to the output folder .*ro \(EACCES\)/);
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const HAS_REDIS = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
if (!HAS_REDIS)
  console.warn('skipping the BullMQ integration test: redis-server is not installed (apt-get install redis-server)');

describe.skipIf(!HAS_REDIS)('sweep --queue with workers (BullMQ on a real redis-server)', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('two workers, one killed with SIGKILL mid-job: every run completes exactly once, results equal the local pool', async () => {
    const cwd = tmp('gt-queue-');
    const port = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(redis);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      redis.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) resolve();
      });
      redis.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
    const url = `redis://127.0.0.1:${port}`;
    const sweepText =
      'name: q\nkind: ticket\nbase:\n  dense: { task: { p: 11, trainFraction: 0.5 }, model: { dEmb: 24, dModel: 12 }, optimizer: { lr: 0.01 }, steps: 600, evalEvery: 20, resumeEvery: 50, backend: wasm }\n  arms: [ticket, random]\naxes:\n  seed: [0, 1]\n  pruningRate: [0.4, 0.8]\n';
    writeSweep(cwd, 'q.yaml', sweepText);
    const shared = path.join(cwd, 'shared');

    // Worker A: the one that will be killed. It takes the first job; we kill it at its first progress line.
    const workerArgs = ['worker', '--queue', url, '--out', shared, '--lock-duration', '3000'];
    const a = await startUntil(workerArgs, /^worker: taking jobs/, { cwd });
    started.push(a.child);
    const aLines: string[] = [];
    let onProgress: ((line: string) => void) | null = null;
    a.child.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        aLines.push(line);
        onProgress?.(line);
      }
    });
    const killedMidJob = new Promise<string>((resolve) => {
      onProgress = (line) => {
        const m = /^worker: (.+): step (\d+)\/600 /.exec(line);
        if (m && Number(m[2]) > 0 && Number(m[2]) < 600) {
          onProgress = null;
          a.child.kill('SIGKILL');
          resolve(m[1]!);
        }
      };
    });
    const sweep = cli(['sweep', 'q.yaml', '--out', 'sweep', '--runs', shared, '--queue', url], { cwd });
    const killedLabel = await killedMidJob;
    // Worker B joins after the kill and must take over the killed job as well as the rest.
    const b = spawn(process.execPath, [BIN, ...workerArgs], {
      cwd,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(b);
    let bErr = '';
    b.stderr!.on('data', (d: Buffer) => (bErr += d.toString()));
    const result = await sweep;
    expect(result.stderr).not.toMatch(/^sweep: failed /m);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sweep q: 10 runs: 10 finished, 0 failed$/m);
    b.kill('SIGINT');
    const bCode = await new Promise<number | null>((resolve) => b.on('exit', (code) => resolve(code)));
    expect(bCode).toBe(130);

    // Exactly once: each job finished on exactly one worker, and the killed one on B.
    const finishedLines = [...aLines, ...bErr.split('\n')].filter((l) =>
      /^worker: (finished|already-finished) /.test(l),
    );
    const ids = finishedLines.map((l) => /\(([^)]+)\)$/.exec(l)![1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(10); // 2 dense runs + 4 experiments x 2 arms
    expect(bErr).toMatch(new RegExp(`^worker: start ${killedLabel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`, 'm'));
    expect(finishedLines.every((l) => l.startsWith('worker: finished '))).toBe(true);

    // The same sweep on the local pool gives the same results.
    const local = await cli(
      ['sweep', 'q.yaml', '--out', 'local/sweep', '--runs', 'local/runs', '--jobs', '2', '--quiet'],
      { cwd },
    );
    expect(local.code).toBe(0);
    const strip = (rows: string[][]) => rows.map((r) => r.filter((_, i) => rows[0]![i] !== 'dir'));
    expect(strip(csvWithoutTimes(path.join(cwd, 'sweep/sweep-results.csv')))).toEqual(
      strip(csvWithoutTimes(path.join(cwd, 'local/sweep/sweep-results.csv'))),
    );
    // Every run folder's metrics hold each evaluation once.
    for (const row of fs
      .readFileSync(path.join(cwd, 'sweep/sweep-results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))) {
      const steps = fs
        .readFileSync(path.join(cwd, 'sweep', row.dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step);
      expect(steps).toEqual(Array.from({ length: 31 }, (_, i) => i * 20));
    }
    redis.kill('SIGTERM');
  }, 600_000);
});
