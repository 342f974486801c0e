import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/run-cli.js';
import { writeToyModels } from '../pipeline/pipeline-toy-models.js';

// Ctrl-C during `npm run generate` (the real CLI in its own process): it
// stops at the next step boundary, keeps the images already written, leaves
// no partial or temporary file, prints one line and exits 130.
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sd-sigint-'));
  mkdirSync(join(work, 'models'));
  writeToyModels(join(work, 'models'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('generate and SIGINT', () => {
  it('SIGINT once the first image is written: exit 130, finished images only, one line', async () => {
    const out = join(work, 'out');
    mkdirSync(out);
    // 50 images of 200 steps: many seconds of work, so the signal surely lands mid-run.
    const args = ['--models', join(work, 'models'), '--prompt', 'a red cube', '--width', '64', '--height', '64', '--threads', '1',
      '--steps', '200', '--seed', '1', '--batch-count', '50', '--output', join(out, 'img.png')];
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'vite-node'), [join(ROOT, 'src', 'cli', 'generate.ts'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (!stdout.includes('wrote') && s.includes('wrote')) child.kill('SIGINT');
      stdout += s;
    });
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    });

    expect(status, stderr).toBe(130);
    const written = stdout.split('\n').filter((l) => l.startsWith('wrote '));
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written.length).toBeLessThan(50);
    expect(readdirSync(out).sort()).toEqual(written.map((_, k) => `img-${k + 1}.png`).sort());
    expect(stderr).toMatch(new RegExp(`\\ninterrupted: stopped at a step boundary, ${written.length} of 50 images written\\n$`));
    expect(stderr).not.toMatch(/error|timings:/);
  }, 60_000);
});
