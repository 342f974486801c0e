import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress.js';

/** A stand-in stream that records writes, as a terminal or not. */
function sink(isTTY: boolean) {
  const s = { text: '', isTTY, write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

// generate ends an unfinished bar's line before it says it was interrupted.
describe('ProgressBar.endLine', () => {
  it('on a terminal, ends a drawn, unfinished line; nothing for a finished bar or a log', () => {
    const tty = sink(true);
    const bar = new ProgressBar({ label: 'image 2/3 denoise', total: 3, stream: tty });
    bar.tick();
    expect(tty.text).toMatch(/^\r\x1b\[Kimage 2\/3 denoise \[#{8}\.{16}\] 1\/3 /);
    expect(tty.text.endsWith('\n')).toBe(false);
    bar.endLine();
    expect(tty.text.endsWith('\n')).toBe(true);

    const done = sink(true);
    const finished = new ProgressBar({ label: 'denoise', total: 1, stream: done });
    finished.tick();
    const before = done.text;
    finished.endLine();
    expect(done.text).toBe(before);

    const log = sink(false);
    const logged = new ProgressBar({ label: 'denoise', total: 3, stream: log });
    logged.tick();
    const logText = log.text; // a log gets whole lines only (every few seconds)
    logged.endLine();
    expect(log.text).toBe(logText);
  });
});
