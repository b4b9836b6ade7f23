#!/usr/bin/env node
// `npm run bench`: ms per full-batch training step of each model on the active tfjs backend, the
// end-to-end wall time of a dense run, and (when python3 can import torch) the PyTorch port of the
// reference step timed in the same run, with the ratio, because absolute times on shared machines
// are noisy. Writes bench/results/<date>.json; `--json` prints only the JSON.
// Every backend that loads is timed (tfjs-node, WASM, cpu; the cpu backend is ~100x slower, so it
// gets --cpu-steps). Flags: --steps N (timed steps, default 200), --backends list (default
// tensorflow,wasm,cpu), --cpu-steps N (default 10), --no-torch, --no-e2e, --e2e-steps N (default
// 30000).
// Throughput section (stacked training, WASM): model-steps per second for K = --stacks (default
// 1,2,4,8,16) runs per stack with --workers (default 1,2) processes at once, for
// --throughput-models (default mlp,transformer,mnist-mlp), beside the PyTorch port with the same
// numbers of processes; --repeats R (default 3) interleaved rounds, reported as median and range;
// --no-throughput skips it. --main-comparison also times the main comparison (3 seeds, dense run +
// 5 arms, --main-steps steps, default 30000) with --stack 1 and the default K, two worker processes.
// The cost of initBackend, first and repeated calls (bench/init-backend.mjs); --no-init skips it.
import { spawn, spawnSync } from 'node:child_process';
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
const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  loadAverage: os.loadavg(),
  steps: [],
  unavailable: {},
  torch: null,
  e2e: null,
  throughput: null,
  mainComparison: null,
  initBackend: null,
};
for (const backend of backends) {
  const n = backend === 'cpu' ? value('--cpu-steps', '10') : steps;
  const warmup = backend === 'cpu' ? '2' : '20';
  log(`bench: ${backend}: timing ${n} steps per model ...`);
  try {
    report.steps.push(
      ...JSON.parse(runNode(['bench', '--backend', backend, '--steps', n, '--warmup', warmup, '--quiet'])).results,
    );
  } catch (e) {
    // A backend that cannot load here (tfjs-node without its binary) is reported, not fatal.
    report.unavailable[backend] = e.message
      .replace(/^grokking-tickets [^:]*failed: /, '')
      .replace(/^grokking-tickets: error: /, '');
    log(`bench: ${backend} unavailable: ${report.unavailable[backend]}`);
  }
}
if (report.steps.length === 0) {
  console.error('bench: no backend could run');
  process.exit(1);
}

if (!flag('--no-init')) {
  log('bench: initBackend, first call and 200 repeated calls ...');
  const r = spawnSync(process.execPath, [path.join(root, 'bench/init-backend.mjs')], { encoding: 'utf8' });
  if (r.status === 0) report.initBackend = JSON.parse(r.stdout);
  else log(`bench: init-backend failed: ${r.stderr.trim().split('\n').pop()}`);
}

if (!flag('--no-torch')) {
  const py = findTorchPython();
  if (py) {
    log(`bench: PyTorch reference port (${py}, 1 thread) ...`);
    const r = spawnSync(py, [path.join(root, 'bench/torch_reference.py'), '--steps', steps, '--threads', '1'], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    });
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
  report.e2e = {
    model: 'mlp',
    steps: Number(e2eSteps),
    wallSec: Math.round(wall * 10) / 10,
    trainSec: summary.wallTimeSec,
    backend: summary.backend,
    testAccReached95At: summary.stepsTo.test_acc_0_95,
  };
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs a command that prints one JSON object; resolves with it (rejects with its last stderr line). */
function spawnJson(cmd, argv, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()));
      else
        reject(new Error(`${path.basename(argv[0] ?? cmd)} failed: ${err.trim().split('\n').pop() || `exit ${code}`}`));
    });
  });
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = (xs) => ({
  median: Math.round(median(xs)),
  min: Math.round(Math.min(...xs)),
  max: Math.round(Math.max(...xs)),
  n: xs.length,
});

if (!flag('--no-throughput')) {
  const models = value('--throughput-models', 'mlp,transformer,mnist-mlp').split(',');
  const stacks = value('--stacks', '1,2,4,8,16').split(',').map(Number);
  const workerCounts = value('--workers', '1,2').split(',').map(Number);
  const repeats = Number(value('--repeats', '3'));
  // Steps per measurement: about the same work whatever K (a stacked step costs ~K solo steps).
  const budget = { mlp: 400, transformer: 160, 'mnist-mlp': 48 };
  const py = flag('--no-torch') ? null : findTorchPython();
  const raw = {};
  const add = (key, v) => (raw[key] ??= []).push(v);
  for (let r = 0; r < repeats; r++) {
    for (const model of models) {
      log(`bench: throughput round ${r + 1}/${repeats}, ${model} ...`);
      // Interleaved: every configuration once per round, so a burst of load hits all of them alike.
      for (const k of stacks) {
        for (const w of workerCounts) {
          const steps = String(Math.max(8, Math.ceil((budget[model] ?? 100) / k)));
          const res = await Promise.all(
            Array.from({ length: w }, () =>
              spawnJson(process.execPath, [
                path.join(root, 'bench/stack-worker.mjs'),
                '--model',
                model,
                '--stack',
                String(k),
                '--steps',
                steps,
              ]),
            ),
          );
          add(
            `${model}|${k}|${w}`,
            res.reduce((a, x) => a + x.modelStepsPerSec, 0),
          );
          add(`${model}|${k}|${w}|rss`, Math.max(...res.map((x) => x.rssMB)));
          add(
            `${model}|${k}|${w}|cpu`,
            res.reduce((a, x) => a + (k * 1000) / x.cpuMsPerStep, 0),
          );
        }
      }
      if (py) {
        const steps = String(Math.max(10, Math.ceil((budget[model] ?? 100) / 4)));
        for (const w of workerCounts) {
          try {
            const res = await Promise.all(
              Array.from({ length: w }, () =>
                spawnJson(
                  py,
                  [
                    path.join(root, 'bench/torch_reference.py'),
                    '--steps',
                    steps,
                    '--warmup',
                    '5',
                    '--threads',
                    '1',
                    '--models',
                    model,
                  ],
                  { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
                ),
              ),
            );
            add(
              `${model}|torch|${w}`,
              res.reduce((a, x) => a + 1000 / x[model].medianMs, 0),
            );
          } catch (e) {
            log(`bench: torch throughput failed: ${e.message}`);
          }
        }
      }
    }
  }
  report.throughput = { repeats, stacks, workers: workerCounts, models: {} };
  for (const model of models) {
    const rows = stacks.map((k) => ({
      stack: k,
      ...Object.fromEntries(workerCounts.map((w) => [`workers${w}`, summary(raw[`${model}|${k}|${w}`])])),
      ...Object.fromEntries(workerCounts.map((w) => [`cpuBasedWorkers${w}`, summary(raw[`${model}|${k}|${w}|cpu`])])),
      rssMBPerProcess: Math.round(median(raw[`${model}|${k}|1|rss`] ?? raw[`${model}|${k}|${workerCounts[0]}|rss`])),
    }));
    const torch = Object.fromEntries(
      workerCounts
        .filter((w) => raw[`${model}|torch|${w}`])
        .map((w) => [`workers${w}`, summary(raw[`${model}|torch|${w}`])]),
    );
    const wMax = Math.max(...workerCounts);
    const best = rows.reduce((b, r) => (r[`workers${wMax}`].median > b[`workers${wMax}`].median ? r : b), rows[0]);
    const torchBest = torch[`workers${wMax}`]?.median;
    report.throughput.models[model] = {
      rows,
      torch,
      best: {
        stack: best.stack,
        workers: wMax,
        modelStepsPerSec: best[`workers${wMax}`].median,
        ratioVsTorch: torchBest ? Math.round((best[`workers${wMax}`].median / torchBest) * 100) / 100 : null,
      },
    };
  }
}

if (flag('--main-comparison')) {
  const mainSteps = value('--main-steps', '30000');
  const repeats = Number(value('--main-repeats', '1'));
  const { DEFAULT_STACK } = await import('@grokking-tickets/scheduler');
  const runs = { unstacked: [], stacked: [] };
  for (let r = 0; r < repeats; r++) {
    for (const [name, k] of [
      ['unstacked', 1],
      ['stacked', DEFAULT_STACK],
    ]) {
      log(
        `bench: main comparison (${name}, --stack ${k}, 2 workers, ${mainSteps} steps), round ${r + 1}/${repeats} ...`,
      );
      runs[name].push(
        await spawnJson(process.execPath, [
          path.join(root, 'bench/main-comparison.mjs'),
          '--stack',
          String(k),
          '--jobs',
          '2',
          '--steps',
          mainSteps,
        ]),
      );
    }
  }
  report.mainComparison = Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => [
      name,
      { stack: rs[0].stack, totalSec: summary(rs.map((x) => x.totalSec)), runs: rs },
    ]),
  );
}

for (const s of report.steps) {
  const t = report.torch?.[s.model];
  if (t) {
    s.torchMedianMs = t.medianMs;
    s.ratioVsTorch = Math.round((s.medianMs / t.medianMs) * 100) / 100;
  }
}
const json = JSON.stringify(report, null, 2);
if (jsonOnly) console.log(json);
else {
  console.log(`model        backend  median ms  p10-p90 ms         torch ms  ours/torch`);
  for (const s of report.steps) {
    console.log(
      `${s.model.padEnd(12)} ${s.backend.padEnd(8)} ${String(s.medianMs).padStart(9)}  ${`${s.p10Ms}-${s.p90Ms}`.padEnd(17)}  ${String(s.torchMedianMs ?? '-').padStart(8)}  ${s.ratioVsTorch ?? '-'}`,
    );
  }
  for (const [b, why] of Object.entries(report.unavailable)) console.log(`${b}: unavailable (${why})`);
  if (report.initBackend) {
    const i = report.initBackend;
    console.log(
      `initBackend('${i.requested}') → ${i.backend}: first call ${i.firstMs} ms; repeated: median ${i.repeatMedianMs} ms, p90 ${i.repeatP90Ms} ms, max ${i.repeatMaxMs} ms (target < ${i.targetMs} ms)`,
    );
  }
  if (report.e2e)
    console.log(
      `end to end: ${report.e2e.steps}-step dense MLP run in ${report.e2e.wallSec} s (process wall time, evaluation every 100 steps)`,
    );
  if (report.throughput) {
    const t = report.throughput;
    const cell = (x) => (x ? `${x.median} (${x.min}-${x.max})` : '-');
    console.log(
      `\nthroughput, model-steps per second (WASM, one thread per process; median of ${t.repeats} interleaved rounds, range in brackets)`,
    );
    console.log(
      `| model | K | ${t.workers.map((w) => `${w} process${w > 1 ? 'es' : ''}`).join(' | ')} | MB per process |`,
    );
    console.log(`|---|---|${t.workers.map(() => '---|').join('')}---|`);
    for (const [model, m] of Object.entries(t.models)) {
      for (const r of m.rows)
        console.log(
          `| ${model} | ${r.stack} | ${t.workers.map((w) => cell(r[`workers${w}`])).join(' | ')} | ${r.rssMBPerProcess} |`,
        );
      if (Object.keys(m.torch).length)
        console.log(
          `| ${model}, PyTorch port | - | ${t.workers.map((w) => cell(m.torch[`workers${w}`])).join(' | ')} | |`,
        );
      console.log(
        `| ${model}: best K = ${m.best.stack} with ${m.best.workers} processes | | ${m.best.modelStepsPerSec} model-steps/s${m.best.ratioVsTorch ? `, ${m.best.ratioVsTorch}x PyTorch's ${m.best.workers} processes` : ''} | | |`,
      );
    }
  }
  if (report.mainComparison) {
    for (const [name, m] of Object.entries(report.mainComparison))
      console.log(
        `main comparison (3 seeds x dense run + 5 arms), ${name} (--stack ${m.stack}, 2 workers): ${m.totalSec.median} s wall (range ${m.totalSec.min}-${m.totalSec.max}, ${m.totalSec.n} runs)`,
      );
  }
}
const dir = path.join(root, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, json + '\n');
log(`bench: wrote ${path.relative(root, file)}`);
