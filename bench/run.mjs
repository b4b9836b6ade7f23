#!/usr/bin/env node
// `npm run bench`: ms per full-batch training step of each model on the active tfjs backend, the
// end-to-end wall time of a dense run, and (when python3 can import torch) the PyTorch port of the
// reference step timed in the same run, with the ratio, because absolute times on shared machines
// are noisy. Writes bench/results/<date>.json; `--json` prints only the JSON.
// Every backend that loads is timed (tfjs-node, WASM, cpu; the cpu backend is ~100x slower, so it
// gets --cpu-steps). Flags: --steps N (timed steps, default 200), --backends list (default
// tensorflow,wasm,cpu), --cpu-steps N (default 10), --no-torch, --no-e2e, --e2e-steps N (default
// 30000).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'packages/runner-cli/dist/bin.js');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const jsonOnly = flag('--json');
const steps = value('--steps', '200');
const log = (...m) => !jsonOnly && console.error(...m);

function runNode(argv) {
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    // A child killed by a signal (say, out of memory) leaves no message of its own.
    const why = r.stderr.trim().split('\n').pop() || (r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`);
    throw new Error(`grokking-tickets ${argv.join(' ')} failed: ${why}`);
  }
  return r.stdout;
}

function findTorchPython() {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

const backends = value('--backends', 'tensorflow,wasm,cpu').split(',').filter(Boolean);
const report = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, steps: [], unavailable: {}, torch: null, e2e: null };
for (const backend of backends) {
  const n = backend === 'cpu' ? value('--cpu-steps', '10') : steps;
  const warmup = backend === 'cpu' ? '2' : '20';
  log(`bench: ${backend}: timing ${n} steps per model ...`);
  try {
    report.steps.push(...JSON.parse(runNode(['bench', '--backend', backend, '--steps', n, '--warmup', warmup, '--quiet'])).results);
  } catch (e) {
    // A backend that cannot load here (tfjs-node without its binary) is reported, not fatal.
    report.unavailable[backend] = e.message.replace(/^grokking-tickets [^:]*failed: /, '').replace(/^grokking-tickets: error: /, '');
    log(`bench: ${backend} unavailable: ${report.unavailable[backend]}`);
  }
}
if (report.steps.length === 0) {
  console.error('bench: no backend could run');
  process.exit(1);
}

if (!flag('--no-torch')) {
  const py = findTorchPython();
  if (py) {
    log(`bench: PyTorch reference port (${py}, 1 thread) ...`);
    const r = spawnSync(py, [path.join(root, 'bench/torch_reference.py'), '--steps', steps, '--threads', '1'], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
    if (r.status === 0) report.torch = JSON.parse(r.stdout);
    else log(`bench: torch reference failed: ${r.stderr.trim().split('\n').pop()}`);
  } else log('bench: python3 cannot import torch (Debian: apt-get install python3-torch); skipping the side-by-side');
}

if (!flag('--no-e2e')) {
  const e2eSteps = value('--e2e-steps', '30000');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-bench-'));
  log(`bench: end-to-end dense MLP run, ${e2eSteps} steps, evaluation every 100 ...`);
  const t0 = performance.now();
  runNode(['train', '--steps', e2eSteps, '--out', path.join(dir, 'run'), '--quiet']);
  const wall = (performance.now() - t0) / 1000;
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'summary.json'), 'utf8'));
  report.e2e = { model: 'mlp', steps: Number(e2eSteps), wallSec: Math.round(wall * 10) / 10, trainSec: summary.wallTimeSec, backend: summary.backend, testAccReached95At: summary.stepsTo.test_acc_0_95 };
  fs.rmSync(dir, { recursive: true, force: true });
}

for (const s of report.steps) {
  const t = report.torch?.[s.model];
  if (t) s.torchMedianMs = t.medianMs, s.ratioVsTorch = Math.round((s.medianMs / t.medianMs) * 100) / 100;
}
const json = JSON.stringify(report, null, 2);
if (jsonOnly) console.log(json);
else {
  console.log(`model        backend  median ms  p10-p90 ms         torch ms  ours/torch`);
  for (const s of report.steps) {
    console.log(`${s.model.padEnd(12)} ${s.backend.padEnd(8)} ${String(s.medianMs).padStart(9)}  ${`${s.p10Ms}-${s.p90Ms}`.padEnd(17)}  ${String(s.torchMedianMs ?? '-').padStart(8)}  ${s.ratioVsTorch ?? '-'}`);
  }
  for (const [b, why] of Object.entries(report.unavailable)) console.log(`${b}: unavailable (${why})`);
  if (report.e2e) console.log(`end to end: ${report.e2e.steps}-step dense MLP run in ${report.e2e.wallSec} s (process wall time, evaluation every 100 steps)`);
}
const dir = path.join(root, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, json + '\n');
log(`bench: wrote ${path.relative(root, file)}`);
