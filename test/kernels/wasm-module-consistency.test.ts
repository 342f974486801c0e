// The JavaScript and the kernels module agree, and every thread runs one
// module: a module lacking exports KernelExports declares (or taking other
// argument counts) fails at load with a pointer to `npm run build`, and the
// worker pool's threads instantiate the compiled module they are handed.
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../../src/kernels/threads/pool.js';
import {
  KERNEL_EXPORT_ARITY,
  chooseVariant,
  compileKernels,
  createSharedMemory,
  instantiateKernels,
  kernelWasmPath,
} from '../../src/kernels/wasm/loader.js';

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

const name = (s: string): number[] => [...leb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
const vector = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];

interface TestFunction {
  name: string;
  /** i32 parameters. */
  params: number;
  /** Instructions, without the final `end`. */
  body: number[];
}

/** A module importing env.memory (shared, up to 65536 pages) as the kernels do, exporting `functions`. */
function moduleOf(functions: TestFunction[]): WebAssembly.Module {
  const I32 = 0x7f;
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(functions.map((f) => [0x60, ...leb(f.params), ...new Array<number>(f.params).fill(I32), 0x00]))),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x03, ...leb(1), ...leb(65536)]])),
    ...section(3, vector(functions.map((_, i) => leb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...leb(i)]))),
    ...section(10, vector(functions.map((f) => {
      const code = [0x00, ...f.body, 0x0b]; // no locals
      return [...leb(code.length), ...code];
    }))),
  ];
  return new WebAssembly.Module(new Uint8Array(bytes));
}

describe('kernels module exports', () => {
  it('the built module has every export KernelExports declares, with its argument count', () => {
    const variant = chooseVariant();
    const memory = createSharedMemory(1, 16);
    const kernels = instantiateKernels(compileKernels(variant), memory) as unknown as Record<string, unknown>;
    for (const [fn, arity] of Object.entries(KERNEL_EXPORT_ARITY)) {
      expect(typeof kernels[fn], fn).toBe('function');
      expect((kernels[fn] as (...args: number[]) => unknown).length, fn).toBe(arity);
    }
    expect(kernelWasmPath(variant)).toMatch(/build[/\\]wasm[/\\]kernels-(simd|relaxed)\.wasm$/);
  });

  it('refuses a module built from other sources, naming what differs and the fix', () => {
    const stale = moduleOf([
      { name: 'simdPeak', params: 2, body: [] },
      { name: 'softmax', params: 7, body: [] },
    ]);
    const memory = createSharedMemory(1, 16);
    let message = '';
    try {
      instantiateKernels(stale, memory);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^the kernels module does not match this version of the code \(/);
    expect(message).toContain('simdPeak takes 2 arguments, the code passes 3');
    expect(message).toContain('no export gemm');
    expect(message).toContain('no export attention');
    expect(message).not.toContain('softmax');
    expect(message).toMatch(/run npm run build$/);
  });
});

describe('worker pool threads', () => {
  it('instantiate the compiled module they are handed (not a file of their own)', async () => {
    // mark(ptr, thread, threads): stores thread + 1 at ptr + 4 * thread. No kernels file has it.
    const mark: TestFunction = {
      name: 'mark',
      params: 3,
      body: [
        0x20, 0x00, 0x20, 0x01, 0x41, 0x04, 0x6c, 0x6a, // ptr + thread * 4
        0x20, 0x01, 0x41, 0x01, 0x6a, // thread + 1
        0x36, 0x02, 0x00, // i32.store align=4 offset=0
      ],
    };
    const module = moduleOf([mark]);
    const memory = createSharedMemory(1, 16);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const threads = 3;
    const pool = await WorkerPool.create({ module, memory, exports: instance.exports, threads });
    try {
      const marks = new Int32Array(memory.buffer, 256, threads);
      for (let round = 0; round < 3; round++) {
        marks.fill(0);
        pool.run('mark', [256]);
        expect([...marks]).toEqual([1, 2, 3]);
      }
    } finally {
      await pool.close();
    }
  });
});
