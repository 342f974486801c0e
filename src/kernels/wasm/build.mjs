// Builds the WebAssembly kernels from their AssemblyScript sources
// (./assembly/) into build/wasm/ at the package root. Run by `npm run
// build:wasm` (part of `npm run build`, hence of `npm ci`); needs no network.
//
// Two variants of the same source: kernels-simd.wasm (WebAssembly SIMD, runs
// on plain Node 20) and kernels-relaxed.wasm (adds relaxed SIMD, used when the
// engine validates it). Both import one shared memory, env.memory, so the
// main thread and the worker threads run on the same bytes.
import asc from 'assemblyscript/asc';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const outDir = join(root, 'build', 'wasm');
const entry = join(here, 'assembly', 'index.ts');

/** Largest memory the kernels may use: 65536 pages of 64 KiB = 4 GiB. */
const MAX_PAGES = 65536;

const variants = [
  { file: 'kernels-simd.wasm', features: ['simd', 'threads'] },
  { file: 'kernels-relaxed.wasm', features: ['simd', 'threads', 'relaxed-simd'] },
];

mkdirSync(outDir, { recursive: true });
for (const { file, features } of variants) {
  let binary = null;
  const result = await asc.main(
    [
      entry,
      '--outFile', file,
      '-O3', '--noAssert',
      '--runtime', 'stub',
      '--importMemory', '--sharedMemory', '--noExportMemory',
      '--initialMemory', '1', '--maximumMemory', String(MAX_PAGES),
      ...features.flatMap((f) => ['--enable', f]),
    ],
    {
      writeFile(name, contents) {
        if (name === file) binary = contents;
      },
    },
  );
  if (result.error) {
    console.error(result.stderr.toString());
    throw new Error(`asc failed for ${file}: ${result.error.message}`);
  }
  if (!binary) throw new Error(`asc produced no binary for ${file}`);
  const target = join(outDir, file);
  writeFileSync(`${target}.tmp`, binary);
  renameSync(`${target}.tmp`, target);
  console.log(`built ${target} (${binary.length} bytes)`);
}
