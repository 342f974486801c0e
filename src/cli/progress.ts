/**
 * A progress bar for long work on stderr: step count, time per step, ETA.
 * On a terminal it redraws one line; elsewhere (CI, logs) it prints a line
 * at most every few seconds and at the end, so logs stay short.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Unit shown in the rate, e.g. 'step' gives "2.1 s/step". */
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Extra text after the counts, e.g. bytes written. */
  detail?: () => string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export class ProgressBar {
  private done = 0;
  private readonly start = performance.now();
  private lastPrint = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Marks `n` more steps done and redraws. */
  tick(n = 1): void {
    this.done = Math.min(this.opts.total, this.done + n);
    const now = performance.now();
    const finished = this.done === this.opts.total;
    if (finished || now - this.lastPrint >= (this.tty ? 100 : 5000)) {
      this.lastPrint = now;
      this.draw(finished);
    }
  }

  /**
   * For a bar left unfinished (the work was interrupted): on a terminal, ends
   * its line, so the next message starts on a line of its own.
   */
  endLine(): void {
    if (this.tty && this.lastPrint > 0 && this.done < this.opts.total) this.stream.write('\n');
  }

  /** The line as it would be drawn now (exposed for tests). */
  line(): string {
    const { label, total, unit = 'step', detail } = this.opts;
    const elapsed = (performance.now() - this.start) / 1000;
    const per = this.done > 0 ? elapsed / this.done : NaN;
    const eta = per * (total - this.done);
    const width = 24;
    const filled = total > 0 ? Math.round((width * this.done) / total) : width;
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const rate = Number.isFinite(per) ? (per >= 1 ? `${per.toFixed(2)} s/${unit}` : `${(per * 1000).toFixed(0)} ms/${unit}`) : `-- s/${unit}`;
    const extra = detail ? `  ${detail()}` : '';
    return `${label} [${bar}] ${this.done}/${total}  ${rate}  elapsed ${formatDuration(elapsed)}  ETA ${formatDuration(eta)}${extra}`;
  }

  private draw(finished: boolean): void {
    if (this.tty) this.stream.write(`\r\x1b[K${this.line()}${finished ? '\n' : ''}`);
    else this.stream.write(`${this.line()}\n`);
  }
}
