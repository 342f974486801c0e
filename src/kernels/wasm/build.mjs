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
/**
 * Static data must end below this: the runtime keeps its job counter in the
 * last 64 bytes below the arena, which starts at 64 KiB (runtime.ts, arena.ts).
 */
const STATIC_DATA_LIMIT = 65536 - 64;

function readLeb(bytes, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(byte & 0x80)) return [value, pos];
  }
}

/** End offset of the module's active data segments (0 without any). */
function staticDataEnd(bytes) {
  let end = 0;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, start] = readLeb(bytes, pos + 1);
    if (id === 11) {
      let [count, p] = readLeb(bytes, start);
      for (; count > 0; count--) {
        let flags;
        [flags, p] = readLeb(bytes, p);
        if (flags === 1) {
          let length;
          [length, p] = readLeb(bytes, p);
          p += length; // passive segment: placed by the code itself
          continue;
        }
        if (flags !== 0 || bytes[p] !== 0x41) throw new Error('unexpected data segment form in the kernels module');
        let offset;
        [offset, p] = readLeb(bytes, p + 1); // i32.const offset (non-negative here)
        p += 1; // end
        let length;
        [length, p] = readLeb(bytes, p);
        p += length;
        end = Math.max(end, offset + length);
      }
    }
    pos = start + size;
  }
  return end;
}

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
  const dataEnd = staticDataEnd(binary);
  if (dataEnd > STATIC_DATA_LIMIT) {
    throw new Error(`${file}: static data ends at ${dataEnd}, past ${STATIC_DATA_LIMIT} where the runtime's job counter lives`);
  }
  const target = join(outDir, file);
  writeFileSync(`${target}.tmp`, binary);
  renameSync(`${target}.tmp`, target);
  console.log(`built ${target} (${binary.length} bytes)`);
}
