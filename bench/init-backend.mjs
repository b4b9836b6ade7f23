#!/usr/bin/env node
// The cost of `initBackend` (packages/backend): the first call of a process (loads the backend) and a
// repeated call with the same request, which the cache answers without setting the backend again.
// Every command calls it before it trains, and libraries may call it once per run, so a repeated call
// should stay far below a training step (target: < 50 ms; it was a timed test before it moved here).
//   node bench/init-backend.mjs [--repeats N] [--backend auto|wasm|cpu]     (build first: npm run build)
// Prints JSON: first call in ms, repeated calls' median, p90 and max in ms.
import { initBackend } from '@grokking-tickets/backend';

const args = process.argv.slice(2);
const value = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const repeats = Number(value('--repeats', '200'));
const requested = value('--backend', 'auto');

const t0 = performance.now();
const choice = await initBackend(requested);
const firstMs = performance.now() - t0;
const times = [];
for (let i = 0; i < repeats; i++) {
  const t = performance.now();
  await initBackend(requested);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
const round = (x) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    requested,
    backend: choice.name,
    firstMs: round(firstMs),
    repeats,
    repeatMedianMs: round(at(0.5)),
    repeatP90Ms: round(at(0.9)),
    repeatMaxMs: round(times[times.length - 1]),
    targetMs: 50,
  }),
);
