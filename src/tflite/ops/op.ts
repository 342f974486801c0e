/**
 * What an op is to the interpreter: one OpDefinition per builtin operator,
 * in a file named after it, registered in registry.ts.
 *
 * - prepare(node, ctx): checks types and options, computes the output
 *   shapes from the input shapes (constant inputs can be read), and may
 *   leave per-node state for run. Called again whenever input shapes change.
 * - run(node, ctx): computes the outputs into their bound memory. The plain
 *   TypeScript version calls the reference kernels (src/kernels/reference).
 *
 * Fast kernels plug in per op without touching these files: pass
 * `kernels: { CONV_2D: myKernel }` to Interpreter.load. A KernelOverride
 * runs after the op's own prepare (so shapes are known), may decline a node
 * it cannot handle (supports), and replaces run.
 */
import type { RuntimeTensor } from '../interpreter/runtime-tensor.js';

export interface Node {
  /** Operator index in its subgraph (for messages and profiles). */
  readonly index: number;
  readonly op: string;
  /** Decoded builtin options (schema defaults filled in); {} for ops without options. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Input tensors; undefined where an optional input is left out (-1). */
  readonly inputs: readonly (RuntimeTensor | undefined)[];
  readonly outputs: readonly RuntimeTensor[];
  /** Whatever prepare leaves for run (resolved axes, a called subgraph, packed weights). */
  state: unknown;
  /** State of a KernelOverride, kept apart from the op's own. */
  kernelState: unknown;
}

/** A subgraph another op can call (STABLEHLO_COMPOSITE's decomposition). */
export interface CallableSubgraph {
  readonly inputs: readonly RuntimeTensor[];
  readonly outputs: readonly RuntimeTensor[];
  resizeInput(position: number, shape: readonly number[]): void;
  prepare(): void;
  setInput(position: number, data: ArrayLike<number> | BigInt64Array): void;
  run(): void;
}

export interface OpContext {
  /** Threads the caller asked for (reference kernels use one). */
  readonly threads: number;
  /** Whether STABLEHLO_COMPOSITE may use a fused kernel instead of its decomposition. */
  readonly compositeFastPaths: boolean;
  /** A fresh instance of subgraph `index` of the same model. */
  subgraph(index: number): CallableSubgraph;
}

export interface OpDefinition {
  readonly name: string;
  prepare(node: Node, ctx: OpContext): void;
  run(node: Node, ctx: OpContext): void;
  /**
   * Memory sharing the planner may use: 'alias' = the output is the input's
   * bytes reinterpreted (run must then not copy onto itself); 'elementwise' =
   * output element i depends only on input elements at i (or broadcast), so
   * the output may overwrite a same-shaped input that dies here.
   */
  readonly inPlace?: 'alias' | 'elementwise';
  /** The op needs only its inputs' shapes, not their data (SHAPE): it can run while preparing. */
  readonly readsShapeOnly?: boolean;
  /**
   * Evaluation at load when every input is constant. Default: prepare, then
   * run into fresh arrays that become constants. DEQUANTIZE overrides it to
   * keep float16/int8 weights compact.
   */
  fold?(node: Node, ctx: OpContext): void;
}

export interface KernelOverride {
  /** Whether this kernel handles the node (after shape inference); default yes. */
  supports?(node: Node, ctx: OpContext): boolean;
  /** Once per shape change, after the op's prepare: pack weights into node.kernelState. */
  prepare?(node: Node, ctx: OpContext): void;
  run(node: Node, ctx: OpContext): void;
}

export type KernelOverrides = Readonly<Record<string, KernelOverride>>;
