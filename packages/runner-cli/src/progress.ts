import cliProgress from 'cli-progress';
import type { TrainEvent } from '@grokking-tickets/training';

/** Where progress goes: a bar on a TTY, plain lines otherwise, nothing with --quiet. */
export type ProgressStyle = 'bar' | 'lines' | 'quiet';

/** Picks the style from the stream and flags. */
export function progressStyle(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressStyle {
  if (quiet) return 'quiet';
  return stream.isTTY && !process.env.CI ? 'bar' : 'lines';
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Seconds as `1h02m`, `3m05s` or `42s`; `--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * Remaining time from the steps done in this process and the time they took (steps resumed from an
 * earlier process do not count toward the rate); `--` until a rate has been measured.
 */
export function etaSeconds(doneHere: number, elapsedHereMs: number, remaining: number): number {
  if (doneHere <= 0 || elapsedHereMs <= 0) return Number.NaN;
  return (remaining * elapsedHereMs) / doneHere / 1000;
}

/** Turns training events into a progress display; returns the event handler and a stop function. */
export function progressReporter(style: ProgressStyle, label: string, stream: NodeJS.WriteStream = process.stderr) {
  let bar: cliProgress.SingleBar | null = null;
  let linesEvery = 1;
  let lastLine = -1;
  let startStep = 0;
  let startedAt = 0;
  const write = (text: string) => {
    if (style !== 'quiet') stream.write(text + '\n');
  };
  const stopBar = () => {
    bar?.stop();
    bar = null;
  };
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case 'start':
        startStep = e.step;
        startedAt = performance.now();
        write(
          `${label}: ${e.resumed ? `resuming at step ${e.step}` : 'starting'} (${e.steps} steps, backend ${e.backend}) → ${e.dir}`,
        );
        if (style === 'bar') {
          bar = new cliProgress.SingleBar(
            {
              format: `${label} {bar} {percentage}% | step {value}/{total} | train {train} test {test} | {rate} steps/s | ETA {eta}`,
              stream,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.steps, e.step, { train: '-', test: '-', rate: '-', eta: '--' });
        }
        linesEvery = Math.max(1, Math.round(e.steps / 20));
        break;
      case 'eval': {
        const r = e.row;
        const hereMs = performance.now() - startedAt;
        const done = r.step - startStep;
        const rate = done > 0 && hereMs > 0 ? ((done / hereMs) * 1000).toFixed(0) : '-';
        const eta = formatDuration(etaSeconds(done, hereMs, e.steps - r.step));
        if (bar) bar.update(r.step, { train: pct(r.train_acc), test: pct(r.test_acc), rate, eta });
        else if (
          style === 'lines' &&
          (Math.floor(r.step / linesEvery) !== Math.floor(lastLine / linesEvery) || r.step === e.steps)
        ) {
          write(
            `${label}: step ${r.step}/${e.steps} train_acc ${pct(r.train_acc)} test_acc ${pct(r.test_acc)} train_loss ${r.train_loss.toExponential(3)} test_loss ${r.test_loss.toExponential(3)} ETA ${eta}`,
          );
          lastLine = r.step;
        }
        break;
      }
      case 'notice':
        if (bar) stream.write('\n');
        write(`${label}: ${e.message}`);
        break;
      case 'interrupted':
        stopBar();
        write(`${label}: interrupted at step ${e.step}; state saved, continue with --resume`);
        break;
      case 'finish':
        stopBar();
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: stopBar };
}

/** A run of a sweep as the display needs it: a label and its number of steps. */
export interface SweepRunInfo {
  id: string;
  label: string;
  steps: number;
}

/** Events a sweep display takes (a subset of the experiments package's SweepEvent, kept structural). */
export type SweepDisplayEvent =
  | { type: 'plan'; runs: number; done: number; toRun: number }
  | { type: 'start'; run: { id: string; label: string } }
  | { type: 'train'; run: { id: string; label: string }; event: TrainEvent }
  | {
      type: 'done';
      run: { id: string; label: string };
      outcome: { status: string; error?: { message: string }; summary?: { stepsTo: { test_acc_0_95: number | null } } };
    };

/**
 * One progress display for a whole sweep: on a TTY an overall bar (done / running / failed, ETA)
 * with one bar per running run; otherwise a plain line as each run starts and ends. The ETA is the
 * steps still to train over the rate of the steps trained in this process.
 */
export function sweepProgress(
  style: ProgressStyle,
  runs: readonly SweepRunInfo[],
  stream: NodeJS.WriteStream = process.stderr,
) {
  const steps = new Map(runs.map((r) => [r.id, r.steps]));
  const progress = new Map<string, number>();
  const startedAt = performance.now();
  let trainedHere = 0;
  let total = runs.length;
  let done = 0;
  let failed = 0;
  let multi: cliProgress.MultiBar | null = null;
  let overall: cliProgress.SingleBar | null = null;
  const bars = new Map<string, cliProgress.SingleBar>();
  const running = new Set<string>();
  const remainingSteps = () => {
    let n = 0;
    for (const r of runs) if (!finished.has(r.id)) n += (steps.get(r.id) ?? 0) - (progress.get(r.id) ?? 0);
    return n;
  };
  const finished = new Set<string>();
  const eta = () => formatDuration(etaSeconds(trainedHere, performance.now() - startedAt, remainingSteps()));
  const status = () => `${done}/${total} done, ${running.size} running, ${failed} failed, ETA ${eta()}`;
  const write = (text: string) => {
    if (style === 'lines') stream.write(`sweep: ${text}\n`);
  };
  const onEvent = (e: SweepDisplayEvent) => {
    switch (e.type) {
      case 'plan':
        total = e.runs;
        done = e.done;
        if (style === 'bar') {
          multi = new cliProgress.MultiBar(
            { stream, hideCursor: true, clearOnComplete: false, format: '{label} {bar} {value}/{total} {info}' },
            cliProgress.Presets.shades_classic,
          );
          overall = multi.create(total, done, {
            label: 'sweep'.padEnd(32),
            info: `done | 0 running | 0 failed | ETA --`,
          });
        }
        write(`${e.runs} runs: ${e.done} finished already, ${e.toRun} to run`);
        break;
      case 'start':
        running.add(e.run.id);
        if (multi)
          bars.set(
            e.run.id,
            multi.create(steps.get(e.run.id) ?? 1, 0, { label: e.run.label.slice(0, 32).padEnd(32), info: 'steps' }),
          );
        write(`start ${e.run.label} [${status()}]`);
        break;
      case 'train': {
        const ev = e.event;
        if (ev.type === 'start') progress.set(e.run.id, ev.step);
        if (ev.type === 'eval') {
          trainedHere += Math.max(0, ev.row.step - (progress.get(e.run.id) ?? 0));
          progress.set(e.run.id, ev.row.step);
          bars.get(e.run.id)?.update(ev.row.step, { info: `steps | test ${pct(ev.row.test_acc)}` });
        }
        break;
      }
      case 'done': {
        running.delete(e.run.id);
        finished.add(e.run.id);
        const bar = bars.get(e.run.id);
        if (bar) {
          multi?.remove(bar);
          bars.delete(e.run.id);
        }
        const st = e.outcome.status;
        if (st === 'failed') failed++;
        else if (st !== 'interrupted') done++;
        const what =
          st === 'failed'
            ? `failed ${e.run.label}: ${e.outcome.error?.message}`
            : st === 'interrupted'
              ? `interrupted ${e.run.label}`
              : `${st} ${e.run.label}${e.outcome.summary ? `: test>=95% ${e.outcome.summary.stepsTo.test_acc_0_95 === null ? 'not reached' : `at ${e.outcome.summary.stepsTo.test_acc_0_95}`}` : ''}`;
        if (multi && st === 'failed') multi.log(`${what}\n`);
        write(`${what} [${status()}]`);
        break;
      }
    }
    overall?.update(done + failed, { info: `done | ${running.size} running | ${failed} failed | ETA ${eta()}` });
  };
  return { onEvent, stop: () => multi?.stop() };
}
