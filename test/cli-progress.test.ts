import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar, formatBytes, formatDuration } from '../src/cli/progress.js';

function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress bar', () => {
  it('shows step, rate and ETA, and always prints the final line', () => {
    const s = sink();
    const bar = new ProgressBar({ label: 'denoise', total: 4, stream: s.stream, detail: () => 'x' });
    expect(bar.line()).toMatch(/^denoise \[\.{24}\] 0\/4 {2}-- s\/step {2}elapsed 0:00 {2}ETA --:-- {2}x$/);
    for (let i = 0; i < 4; i++) bar.tick();
    expect(s.text()).toMatch(/denoise \[#{24}\] 4\/4 {2}\d+ ms\/step {2}elapsed 0:00 {2}ETA 0:00 {2}x\n$/);
  });

  it('formats durations and sizes', () => {
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(65.4)).toBe('1:05');
    expect(formatBytes(4_266_000_000)).toBe('4.27 GB');
    expect(formatBytes(1536)).toBe('1.5 kB');
  });
});
