// Child process that hosts Google's LiteRT.js (@litertjs/core) for
// bench/peers/litert.ts. It is plain JavaScript because `node` starts it
// directly, both from the TypeScript sources (vitest) and from dist/.
// Running LiteRT.js here keeps its browser-style globals (self, navigator,
// importScripts, Worker) and its thread pool out of the process that uses
// the harness.
//
// Protocol (process.send with serialization 'advanced', so typed arrays
// cross as copies): the parent sends {id, op, ...}; every reply is
// {id, ok: true, ...} or {id, ok: false, error, log}. At start-up the child
// sends {id: 0, ok, threads} once LiteRT.js is loaded. Any log line starting
// with "ERROR:" while serving a request fails that request, because LiteRT.js
// sometimes logs an error and returns zero-filled outputs instead of throwing.
//
// argv: <threads 1|2> <cache dir holding the .cjs copies of the glue files>

import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

// LiteRT.js's default and threaded builds need relaxed SIMD, which it probes
// for when loading. Node 20 validates relaxed SIMD only with V8's
// --experimental-wasm-relaxed-simd, set here at run time as our kernels'
// loader does (src/kernels/wasm/loader.ts); Node 22 and later have it on
// and no longer know the flag (given on the command line, node exits with
// "bad option"), so it is set only when this probe fails: a module whose
// function runs f32x4.relaxed_madd on three v128.const 0 and drops it.
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x3e, 0x01, 0x3c, 0x00,
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array(16).fill(0)]),
  0xfd, 0x85, 0x02, 0x1a, 0x0b,
]);
if (!WebAssembly.validate(RELAXED_SIMD_PROBE)) setFlagsFromString('--experimental-wasm-relaxed-simd');

const threads = Number(process.argv[2]);
const glueDir = process.argv[3];
const require = createRequire(import.meta.url);

/** Log lines since the current request started (LiteRT.js INFO/ERROR text). */
let log = [];
const capture = (...args) => {
  for (const line of args.map(String).join(' ').split('\n')) log.push(line);
};
console.log = console.info = console.warn = console.error = console.debug = capture;

// What the Emscripten glue and @litertjs/wasm-utils expect from a browser.
globalThis.self = globalThis;
globalThis.navigator ??= { hardwareConcurrency: threads };
globalThis.Worker ??= Worker;
// Module is handed to the glue's factory; print/printErr also receive the
// pthread workers' output (proxied to this thread by the glue).
globalThis.Module = { print: capture, printErr: capture };
globalThis.importScripts = (url) => {
  // The loader asks for "<dir>/litert_wasm_*.js"; the cache holds .cjs copies.
  const file = String(url).replace(/\.js$/, '.cjs');
  globalThis.ModuleFactory = require(file);
};

const lrt = await import('@litertjs/core');

const models = new Map();
let nextModelId = 1;

function tensorDetails(d) {
  return { name: d.name, dtype: d.dtype, shape: Array.from(d.shape) };
}

function signatureOf(model, key) {
  const runner = model.signatures[key];
  if (!runner) throw new Error(`no signature "${key}"`);
  return runner;
}

function makeInputs(inputs) {
  return inputs.map((t) => new lrt.Tensor(t.data, t.shape));
}

function readOutputs(runner, tensors) {
  const details = runner.getOutputDetails();
  return tensors.map((t, i) => {
    const data = t.toTypedArray(); // a copy out of the wasm heap
    t.delete();
    return { ...tensorDetails(details[i]), shape: Array.from(t.type.layout.dimensions), data };
  });
}

function failIfErrorLogged() {
  const bad = log.find((line) => line.startsWith('ERROR:'));
  if (bad) throw new Error(`LiteRT.js logged an error: ${bad}`);
}

const handlers = {
  async load({ bytes }) {
    const model = await lrt.loadAndCompile(bytes, {
      accelerator: 'wasm',
      cpuOptions: { numThreads: threads },
    });
    failIfErrorLogged();
    const modelId = nextModelId++;
    models.set(modelId, model);
    const signatures = Object.entries(model.signatures).map(([key, runner]) => ({
      key,
      inputs: runner.getInputDetails().map(tensorDetails),
      outputs: runner.getOutputDetails().map(tensorDetails),
    }));
    return { modelId, signatures, defaultSignature: model.key };
  },

  async run({ modelId, signature, inputs }) {
    const runner = signatureOf(getModel(modelId), signature);
    const tensors = makeInputs(inputs);
    try {
      const start = performance.now();
      const out = await runner.run(tensors);
      const ms = performance.now() - start;
      const outputs = readOutputs(runner, out);
      failIfErrorLogged();
      return { outputs, ms };
    } finally {
      for (const t of tensors) t.delete();
    }
  },

  /** Times `repeat` invocations after `warmup` untimed ones; outputs are dropped. */
  async time({ modelId, signature, inputs, warmup, repeat }) {
    const runner = signatureOf(getModel(modelId), signature);
    const tensors = makeInputs(inputs);
    try {
      const ms = [];
      let cpu;
      for (let i = 0; i < warmup + repeat; i++) {
        if (i === warmup) cpu = process.cpuUsage();
        const start = performance.now();
        const out = await runner.run(tensors);
        const elapsed = performance.now() - start;
        for (const t of out) t.delete();
        failIfErrorLogged();
        if (i >= warmup) ms.push(elapsed);
      }
      // CPU time of the whole process (all threads) over the timed runs.
      const used = process.cpuUsage(cpu);
      return { ms, cpuMs: (used.user + used.system) / 1000 };
    } finally {
      for (const t of tensors) t.delete();
    }
  },

  async dispose({ modelId }) {
    getModel(modelId).delete();
    models.delete(modelId);
    return {};
  },
};

function getModel(modelId) {
  const model = models.get(modelId);
  if (!model) throw new Error(`model ${modelId} was disposed`);
  return model;
}

// One request at a time, in arrival order: LiteRT.js is not re-entrant.
let queue = Promise.resolve();
process.on('message', (msg) => {
  queue = queue.then(async () => {
    log = [];
    try {
      const handler = handlers[msg.op];
      if (!handler) throw new Error(`unknown op ${msg.op}`);
      process.send({ id: msg.id, ok: true, ...(await handler(msg)) });
    } catch (e) {
      process.send({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e), log });
    }
  });
});
// The parent going away (or closing the channel) ends this process.
process.on('disconnect', () => process.exit(0));

try {
  await lrt.loadLiteRt(glueDir + '/', { threads: threads > 1 });
  failIfErrorLogged();
  process.send({ id: 0, ok: true, threads: lrt.getGlobalLiteRt().liteRtWasm.getThreadCount() });
} catch (e) {
  process.send({ id: 0, ok: false, error: e instanceof Error ? e.message : String(e), log });
  process.exit(1);
}
