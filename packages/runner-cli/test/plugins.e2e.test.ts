import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '@grokking-tickets/run-store';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, startUntil, tmp } from './helpers.js';

// A plug-in package (a task, a model and an arm), installed in each test's folder under its package
// name, as `npm install` would: every process of a run must load it because the user named it.
const FIXTURE = fileURLToPath(new URL('./fixtures/plugin-extras', import.meta.url));
const PLUGIN = 'grokking-tickets-plugin-fixture';
const SWEEP = [
  'name: plug',
  'kind: ticket',
  'base:',
  '  dense: { task: { name: pairs-max, p: 11, trainFraction: 0.5 }, model: { kind: mlp-narrow }, optimizer: { lr: 0.01 }, steps: 100, evalEvery: 20, resumeEvery: 50, backend: wasm }',
  '  arms: [ticket, ticket-half]',
  'axes:',
  '  seed: [0, 1]',
  '',
].join('\n');

/** A folder with the plug-in package installed in its node_modules and the sweep file. */
function project(prefix: string): string {
  const cwd = tmp(prefix);
  fs.mkdirSync(path.join(cwd, 'node_modules'), { recursive: true });
  fs.symlinkSync(FIXTURE, path.join(cwd, 'node_modules', PLUGIN), 'dir');
  fs.writeFileSync(path.join(cwd, 'plug.yaml'), SWEEP);
  return cwd;
}

const jsonl = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The result rows without what differs between two runs of the same sweep (times, folders). */
const comparable = (file: string) => jsonl(file).map(({ wallTimeSec: _w, msPerStep: _m, dir: _d, ...r }) => r);

/** The ticket-half arm starts from exactly half the ticket's initial weights, with the same masks. */
async function expectHalfOfTicket(ticketDir: string, halfDir: string): Promise<void> {
  const ticket = (await loadCheckpoint(path.join(ticketDir, 'checkpoints', 'init.safetensors'))).tensors;
  const half = (await loadCheckpoint(path.join(halfDir, 'checkpoints', 'init.safetensors'))).tensors;
  expect(Object.keys(half).sort()).toEqual(Object.keys(ticket).sort());
  for (const [name, t] of Object.entries(ticket)) {
    const h = Array.from(half[name]!.data as Float32Array);
    const want = Array.from(t.data as Float32Array).map((x) => (name.startsWith('mask/') ? x : x / 2));
    expect(h, name).toEqual(want);
  }
}

describe('plug-ins (a task, a model and an arm from a package) in every process', () => {
  it('sweep --jobs 2: child processes load the plug-in named on the command line; without it, a usage error', async () => {
    const cwd = project('gt-plugin-sweep-');
    const without = await cli(['sweep', 'plug.yaml', '--out', 'no/sweep', '--runs', 'no/runs'], { cwd });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/unknown task "pairs-max" \(known: modular, mnist\)/);
    expect(fs.existsSync(path.join(cwd, 'no'))).toBe(false);

    const r = await cli(
      ['sweep', 'plug.yaml', '--plugin', PLUGIN, '--out', 'sweep', '--runs', 'runs', '--jobs', '2', '--quiet'],
      { cwd },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sweep plug: 6 runs: 6 finished, 0 failed$/m);
    const rows = jsonl(path.join(cwd, 'sweep', 'sweep-results.jsonl'));
    expect(rows.map((row) => row.arm).sort()).toEqual([null, null, 'ticket', 'ticket', 'ticket-half', 'ticket-half']);
    for (const row of rows) {
      expect(row.task).toBe('pairs-max');
      expect(row.model).toBe('mlp-narrow');
    }
    for (const seed of [0, 1]) {
      const arm = (name: string) =>
        path.join(cwd, 'sweep', rows.find((row) => row.arm === name && row.seed === seed)!.dir as string);
      const record = JSON.parse(fs.readFileSync(path.join(arm('ticket-half'), 'config.json'), 'utf8'));
      expect(record.config.model.kind).toBe('mlp-narrow');
      expect(record.config.model.dModel).toBe(16);
      expect(record.provenance).toMatchObject({ arm: 'ticket-half', scale: 0.5, plugin: 'fixture' });
      await expectHalfOfTicket(arm('ticket'), arm('ticket-half'));
    }
  }, 600_000);

  it('train and ticket: plug-in task options are flags; ticket arms in worker threads (--jobs 2)', async () => {
    const cwd = project('gt-plugin-ticket-');
    const help = await cli(['train', '--plugin', PLUGIN, '--help'], { cwd });
    expect(help.stdout).toMatch(/--task <name> +task: modular \| mnist \| pairs-max/);
    expect(help.stdout).toMatch(/--model <kind> +model: mlp \| transformer \| mnist-mlp \| mlp-narrow/);
    const common = ['--task', 'pairs-max', '--model', 'mlp-narrow', '--p', '11', '--lr', '0.01', '--eval-every', '20'];
    const t = await cli(
      [
        'train',
        '--plugin',
        PLUGIN,
        ...common,
        '--p',
        '7',
        '--steps',
        '40',
        '--backend',
        'wasm',
        '--out',
        'r',
        '--quiet',
      ],
      { cwd },
    );
    expect(t.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'r', 'config.json'), 'utf8')).config.task).toEqual({
      name: 'pairs-max',
      p: 7,
      trainFraction: 0.5,
    });
    const k = await cli(
      [
        'ticket',
        ...common,
        '--steps',
        '100',
        '--backend',
        'wasm',
        '--arms',
        'ticket,ticket-half',
        '--jobs',
        '2',
        '--stack',
        '1',
        '--out',
        'k',
        '--quiet',
        '--plugin',
        PLUGIN,
      ],
      { cwd },
    );
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    expect(k.stdout).toMatch(/^ticket-half /m);
    await expectHalfOfTicket(path.join(cwd, 'k', 'arms', 'ticket'), path.join(cwd, 'k', 'arms', 'ticket-half'));
    // The stored experiment names the plug-in's arm: resuming it without the plug-in is refused.
    const again = await cli(['ticket', '--out', 'k', '--resume', '--quiet'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/unknown task "pairs-max"/);
  }, 600_000);
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
  console.warn('skipping the plug-in queue test: redis-server is not installed (apt-get install redis-server)');

describe.skipIf(!HAS_REDIS)('plug-ins through a BullMQ queue (a real redis-server)', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('a worker started with --plugin runs the plug-in task, model and arm; results equal the local pool', async () => {
    const cwd = project('gt-plugin-queue-');
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
    const shared = path.join(cwd, 'shared');
    const worker = await startUntil(
      ['worker', '--queue', url, '--out', shared, '--plugin', PLUGIN],
      /^worker: taking jobs/,
      {
        cwd,
      },
    );
    started.push(worker.child);
    const queued = await cli(
      ['sweep', 'plug.yaml', '--plugin', PLUGIN, '--out', 'sweep', '--runs', shared, '--queue', url, '--quiet'],
      { cwd },
    );
    expect(queued.stderr).not.toMatch(/^sweep: failed /m);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^sweep plug: 6 runs: 6 finished, 0 failed$/m);
    worker.child.kill('SIGINT');
    expect((await worker.exited).code).toBe(130);

    const local = await cli(
      [
        'sweep',
        'plug.yaml',
        '--plugin',
        PLUGIN,
        '--out',
        'local/sweep',
        '--runs',
        'local/runs',
        '--jobs',
        '2',
        '--quiet',
      ],
      { cwd },
    );
    expect(local.code).toBe(0);
    expect(comparable(path.join(cwd, 'sweep', 'sweep-results.jsonl'))).toEqual(
      comparable(path.join(cwd, 'local', 'sweep', 'sweep-results.jsonl')),
    );
    const rows = jsonl(path.join(cwd, 'sweep', 'sweep-results.jsonl'));
    const arm = (name: string) =>
      path.join(cwd, 'sweep', rows.find((r) => r.arm === name && r.seed === 0)!.dir as string);
    await expectHalfOfTicket(arm('ticket'), arm('ticket-half'));
    redis.kill('SIGTERM');
  }, 600_000);
});
