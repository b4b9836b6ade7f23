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
        write(`${label}: ${e.resumed ? `resuming at step ${e.step}` : 'starting'} (${e.steps} steps, backend ${e.backend}) → ${e.dir}`);
        if (style === 'bar') {
          bar = new cliProgress.SingleBar(
            { format: `${label} {bar} {percentage}% | step {value}/{total} | train {train} test {test} | {rate} steps/s | ETA {eta}`, stream, hideCursor: true },
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
        else if (style === 'lines' && (Math.floor(r.step / linesEvery) !== Math.floor(lastLine / linesEvery) || r.step === e.steps)) {
          write(`${label}: step ${r.step}/${e.steps} train_acc ${pct(r.train_acc)} test_acc ${pct(r.test_acc)} train_loss ${r.train_loss.toExponential(3)} test_loss ${r.test_loss.toExponential(3)} ETA ${eta}`);
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
