import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * LiteRT.js's Emscripten glue files (`@litertjs/core/wasm/*.js`) are
 * CommonJS, but the package is `"type": "module"`, so Node refuses to load
 * them in place. This makes (once, atomically) a directory in os.tmpdir()
 * holding `.cjs` copies of the glue next to symlinks to the `.wasm` files,
 * and returns its path. The copies are made at run time from the installed
 * package and never committed.
 */
export function litertGlueDir(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@litertjs/core/package.json');
  const wasmDir = path.join(path.dirname(packageJson), 'wasm');
  const version = (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
  // The install location is part of the name: the symlinks point into it.
  const tag = createHash('sha256').update(wasmDir).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `sd-tflite-litertjs-${version}-${tag}`);
  const files = fs.readdirSync(wasmDir).filter((f) => f.endsWith('.js') || f.endsWith('.wasm'));
  const cached = (f: string) => path.join(dir, f.endsWith('.js') ? f.replace(/\.js$/, '.cjs') : f);
  const complete = () => files.every((f) => fs.existsSync(cached(f))); // existsSync follows the symlinks
  if (complete()) return dir;

  const staging = fs.mkdtempSync(`${dir}.tmp-`);
  for (const f of files) {
    const target = path.join(staging, path.basename(cached(f)));
    if (f.endsWith('.js')) fs.copyFileSync(path.join(wasmDir, f), target);
    else fs.symlinkSync(path.join(wasmDir, f), target);
  }
  try {
    fs.renameSync(staging, dir);
  } catch {
    // Either another process just put a complete copy there (use it), or a
    // stale one (node_modules reinstalled elsewhere) is in the way: move it
    // aside atomically first, so no process ever sees a half-made copy.
    if (!complete()) {
      const stale = fs.mkdtempSync(`${dir}.stale-`);
      fs.renameSync(dir, path.join(stale, 'old'));
      fs.rmSync(stale, { recursive: true, force: true });
      fs.renameSync(staging, dir);
    }
  }
  fs.rmSync(staging, { recursive: true, force: true });
  return dir;
}
