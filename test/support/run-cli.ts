import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The package root (test/support is two folders below it). */
export const ROOT = join(import.meta.dirname, '..', '..');

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript entry file (path relative to the package root, e.g.
 * 'src/cli/tokenize.ts') in its own process through vite-node, so the real
 * CLI runs with no build step; resolves when it exits, whatever the status.
 */
export function runTs(script: string, args: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<ProcessResult> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'vite-node'), [join(ROOT, script), ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
