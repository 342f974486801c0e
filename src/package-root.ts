import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SdError } from './errors.js';

/**
 * The folder holding sd-tflite's package.json: the nearest ancestor of this
 * file (src/ when run from source, dist/src/ when built) that holds it.
 * Runtime files shipped with the package (assets/, build/wasm/) are found
 * from here, whatever the current directory.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sd-tflite') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new SdError(`cannot find the sd-tflite package folder (no package.json named sd-tflite above ${fileURLToPath(import.meta.url)})`);
    dir = parent;
  }
}
