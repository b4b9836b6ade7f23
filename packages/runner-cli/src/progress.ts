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

/** Turns training events into a progress display; returns the event handler and a stop function. */
export function progressReporter(style: ProgressStyle, label: string, stream: NodeJS.WriteStream = process.stderr) {
  let bar: cliProgress.SingleBar | null = null;
  let linesEvery = 1;
  let lastLine = -1;
  const write = (text: string) => {
    if (style !== 'quiet') stream.write(text + '\n');
  };
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case 'start':
        write(`${label}: ${e.resumed ? `resuming at step ${e.step}` : 'starting'} (${e.steps} steps, backend ${e.backend}) → ${e.dir}`);
        if (style === 'bar') {
          bar = new cliProgress.SingleBar(
            { format: `${label} {bar} {percentage}% | step {value}/{total} | train {train} test {test} | {rate} steps/s | ETA {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.steps, e.step, { train: '-', test: '-', rate: '-' });
        }
        linesEvery = Math.max(1, Math.round(e.steps / 20));
        break;
      case 'eval': {
        const r = e.row;
        const rate = e.elapsedMs > 0 ? ((r.step / e.elapsedMs) * 1000).toFixed(0) : '-';
        if (bar) bar.update(r.step, { train: pct(r.train_acc), test: pct(r.test_acc), rate });
        else if (style === 'lines' && (Math.floor(r.step / linesEvery) !== Math.floor(lastLine / linesEvery) || r.step === e.steps)) {
          write(`${label}: step ${r.step}/${e.steps} train_acc ${pct(r.train_acc)} test_acc ${pct(r.test_acc)} train_loss ${r.train_loss.toExponential(3)} test_loss ${r.test_loss.toExponential(3)}`);
          lastLine = r.step;
        }
        break;
      }
      case 'interrupted':
        (bar as cliProgress.SingleBar | null)?.stop();
        bar = null;
        write(`${label}: interrupted at step ${e.step}; state saved, continue with --resume`);
        break;
      case 'finish':
        (bar as cliProgress.SingleBar | null)?.stop();
        bar = null;
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: () => (bar as cliProgress.SingleBar | null)?.stop() };
}
