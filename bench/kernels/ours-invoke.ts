/**
 * Times one single-op model (op-models.ts) in our interpreter on the
 * WebAssembly kernels, the way the product runs a .tflite file: loaded with
 * wasmInterpreterOptions(runtime), weights packed at load and first invoke
 * (not timed), then invoke() timed with benchmark.js (median). Also times
 * the graph alone (the executor's run()), which is what the kernels cost.
 *
 * The timed invoke() is the no-copy one: inputs written into the arena
 * (inputTensor views) once before timing, outputs returned as arena views.
 * That is what LiteRT.js's timed run() does (bench/peers/litert-child.mjs):
 * its input Tensors are made in its wasm heap before timing, and run()
 * hands host-memory buffers to TFLite as custom allocations (LiteRT's
 * CompiledModel::RegisterBuffer, litert/runtime/compiled_model.cc), so no
 * input is copied in; its outputs come back as Tensors in its heap, read
 * out (toTypedArray) only after timing. Neither side copies in or out; both
 * keep the per-run bookkeeping (input checks; LiteRT.js's output buffer
 * allocation).
 */
import { attentionWorkspaceBytes } from '../../src/kernels/wasm/attention.js';
import type { KernelRuntime } from '../../src/kernels/wasm/runtime.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { wasmInterpreterOptions } from '../../src/tflite/ops/wasm/index.js';
import { time, type Timing } from './measure.js';
import { SIGNATURE, inputName, type OpCase } from './op-models.js';

export interface OursTiming {
  /** invoke() on inputs already in the arena, outputs as views (no copies; see above). */
  invoke: Timing;
  /** The graph's steps only (SubgraphExecutor.run). */
  graph: Timing;
  /** The steps left after folding and fusion, by op name (shows a fused kernel ran). */
  steps: string[];
  /**
   * Memory beyond inputs and output, bytes: the interpreter's planned
   * intermediates plus, for fused attention, the kernel's scratch.
   */
  workingBytes: number;
}

export function timeOurs(rt: KernelRuntime, c: OpCase, model: Uint8Array, inputs: Float32Array[], maxTimeSeconds: number): OursTiming {
  // Each case is a model of its own: it gets the whole resident-weight budget, as when loaded alone.
  const mark = rt.arena.top;
  const residentMark = rt.arena.residentWeightBytes;
  const interp = Interpreter.load(model, wasmInterpreterOptions(rt));
  try {
    const runner = interp.getSignatureRunner(SIGNATURE);
    const named = Object.fromEntries(inputs.map((x, i) => [inputName(i), x]));
    runner.invoke(named); // prepare: plan memory, pack weights; writes the inputs into the arena
    const ex = runner.executor;
    const name = `${c.label} ${rt.variant} x${rt.threads}`;
    const invoke = time(`invoke ${name}`, () => runner.invoke(), maxTimeSeconds);
    const graph = time(`graph ${name}`, () => ex.run(), maxTimeSeconds);
    const ioBytes = [...ex.inputs, ...ex.outputs].reduce((sum, t) => sum + 4 * t.size, 0);
    const scratch = c.attention ? attentionWorkspaceBytes(rt, c.attention.keys, c.attention.dim) : 0;
    return {
      invoke,
      graph,
      steps: ex.steps.filter((s) => !s.atPrepare).map((s) => s.node.op),
      workingBytes: ex.memoryPlan!.totalBytes - ioBytes + scratch,
    };
  } finally {
    interp.close();
    rt.arena.reset(mark);
    rt.arena.residentWeightBytes = residentMark;
  }
}
