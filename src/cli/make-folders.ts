import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node 20's mkdirSync(dir, { recursive: true })
 * never returns when a parent cannot be made for ENOENT (e.g. anything under
 * /proc/<missing>/), so a bad --out would hang the command instead of failing.
 * Throws the first mkdir error (ENOENT, EACCES, ENOTDIR, ...), or ENOTDIR
 * when `dir` is an existing file.
 */
export function makeFolders(dir: string): void {
  const missing: string[] = [];
  let path = resolve(dir);
  for (; !existsSync(path); path = dirname(path)) {
    missing.push(path);
    if (dirname(path) === path) break;
  }
  if (missing.length === 0 && !statSync(path).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR' });
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path);
    } catch (err) {
      // Made meanwhile by someone else: fine if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(path).isDirectory()) throw err;
    }
  }
}
