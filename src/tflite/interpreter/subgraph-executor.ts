/**
 * Runs one subgraph: builds its runtime tensors and nodes at load (folding
 * nodes whose inputs are all constant), infers shapes and plans memory
 * whenever input shapes change (prepare), then runs the nodes in order.
 */
import { FormatError, SdError, UsageError } from '../../errors.js';
import type { TypedArray } from '../../kernels/reference/typed-tensor.js';
import type { KernelOverride, Node, OpContext, OpDefinition } from '../ops/op.js';
import { opDefinition } from '../ops/registry.js';
import { ConstantValue } from './constant-value.js';
import { ACTIVATION_TYPES, allocTyped, typeBytes, typedView } from './dtype.js';
import { fuseSubgraph } from './fusion/index.js';
import type { LoadedModel } from './loaded-model.js';
import { planMemory, type MemoryPlan } from './memory-plan.js';
import { RuntimeTensor } from './runtime-tensor.js';
import type { TensorArena } from './tensor-arena.js';

/** How deep composite decompositions may call one another (guards against recursive files). */
const MAX_CALL_DEPTH = 16;

export interface Step {
  readonly node: Node;
  readonly def: OpDefinition;
  /** The kernel chosen at prepare: the op's own run or a KernelOverride's. */
  run: (node: Node, ctx: OpContext) => void;
  /** Evaluated during the last prepare (a shape computation); skipped at run time. */
  atPrepare?: boolean;
}

/** Integer results up to this many elements count as shape values, computed while preparing. */
const SHAPE_VALUE_LIMIT = 64;

/** Called after each node with its wall time, when profiling. */
export type NodeTimer = (node: Node, ms: number) => void;

export class SubgraphExecutor {
  readonly tensors: RuntimeTensor[];
  readonly inputs: RuntimeTensor[];
  readonly outputs: RuntimeTensor[];
  /** Nodes left to run after folding and fusion, in order. */
  readonly steps: Step[];
  private prepared = false;
  /** Tensors whose values the last prepare computed (see evaluateAtPrepare). */
  private readonly shapeValues = new Set<RuntimeTensor>();
  private plan: MemoryPlan | undefined;
  private boundBuffer: ArrayBufferLike | undefined;
  private readonly arena: TensorArena;
  readonly ctx: OpContext;

  constructor(
    private readonly loaded: LoadedModel,
    readonly subgraphIndex: number,
    callDepth = 0,
  ) {
    const sg = loaded.model.subgraphs[subgraphIndex];
    if (!sg) throw new FormatError(loaded.file.file, `no subgraph ${subgraphIndex}`);
    if (callDepth > MAX_CALL_DEPTH) {
      throw new FormatError(loaded.file.file, `subgraph calls nest deeper than ${MAX_CALL_DEPTH} (a subgraph calling itself?)`);
    }
    this.arena = loaded.options.arena();
    this.ctx = {
      threads: loaded.options.threads,
      compositeFastPaths: loaded.options.compositeFastPaths,
      subgraph: (index) => new SubgraphExecutor(loaded, index, callDepth + 1),
    };
    this.tensors = sg.tensors.map((t, i) => {
      const rt = new RuntimeTensor(i, t.name, t.type, t.shape, t.shapeSignature, t.quantization);
      if (t.isVariable) this.fail(`tensor ${i} (${t.name}) is a variable; variable tensors are not supported`);
      rt.constant = loaded.constant(subgraphIndex, i);
      return rt;
    });
    this.inputs = sg.inputs.map((i) => this.tensorAt(i, 'subgraph input'));
    this.outputs = sg.outputs.map((i) => this.tensorAt(i, 'subgraph output'));

    const steps: Step[] = [];
    const written = new Set<RuntimeTensor>(this.inputs);
    sg.operators.forEach((op, index) => {
      const def = opDefinition(op.opName);
      if (!def) this.fail(`operator ${index} is ${op.opName}, which the interpreter does not support`);
      const node: Node = {
        index,
        op: op.opName,
        options: op.options ?? {},
        inputs: op.inputs.map((i) => (i === -1 ? undefined : this.tensorAt(i, `operator ${index} input`))),
        outputs: op.outputs.map((i) => this.tensorAt(i, `operator ${index} output`)),
        state: undefined,
        kernelState: undefined,
      };
      for (const t of node.inputs) {
        if (t && !t.isConstant && !written.has(t)) {
          this.fail(`operator ${index} (${op.opName}) reads tensor ${t.index} (${t.name}), which nothing computes before it`);
        }
      }
      for (const t of node.outputs) written.add(t);
      const step: Step = { node, def, run: def.run };
      if (this.foldable(node)) this.fold(step);
      else steps.push(step);
    });
    this.steps = loaded.options.fusion ? fuseSubgraph(steps, this.outputs) : steps;
  }

  /** Sets the shape of input `position` (dims the file marks -1, or any dim when it records no signature). */
  resizeInput(position: number, shape: readonly number[]): void {
    const t = this.inputs[position];
    if (!t) throw new UsageError(`subgraph ${this.subgraphIndex} has no input ${position}`);
    if (shape.length !== t.shape.length || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new UsageError(`input ${t.name}: cannot resize [${t.shape.join(', ')}] to [${shape.join(', ')}] (rank must stay ${t.shape.length})`);
    }
    const sig = t.shapeSignature;
    shape.forEach((d, i) => {
      if (sig && sig[i] !== -1 && sig[i] !== d) {
        throw new UsageError(`input ${t.name}: dim ${i} is fixed at ${sig[i]} (shape signature [${sig.join(', ')}]), cannot set ${d}`);
      }
    });
    if (shape.some((d, i) => d !== t.shape[i])) {
      t.shape = [...shape];
      this.prepared = false;
    }
  }

  /** prepare() unless the shapes are unchanged since the last one. */
  prepareIfNeeded(): void {
    if (!this.prepared) this.prepare();
  }

  /** Shape inference and memory planning for the current input shapes. */
  prepare(): void {
    for (const t of this.shapeValues) t.constant = undefined;
    this.shapeValues.clear();
    for (const step of this.steps) {
      this.guard(step.node, () => {
        step.def.prepare(step.node, this.ctx);
        step.atPrepare = this.isShapeComputation(step);
        if (step.atPrepare) {
          this.evaluateAtPrepare(step);
          return;
        }
        const override: KernelOverride | undefined = this.loaded.options.kernels[step.node.op];
        if (override && (override.supports?.(step.node, this.ctx) ?? true)) {
          override.prepare?.(step.node, this.ctx);
          step.run = override.run;
        } else step.run = step.def.run;
      });
    }
    const running = this.steps.filter((s) => !s.atPrepare);
    const used = new Set<RuntimeTensor>([...this.inputs, ...this.outputs]);
    for (const s of running) for (const t of [...s.node.inputs, ...s.node.outputs]) if (t) used.add(t);
    const planned = (t: RuntimeTensor): boolean => !t.isConstant && used.has(t);
    for (const t of this.tensors) {
      if (planned(t) && !ACTIVATION_TYPES.includes(t.type)) {
        this.fail(`tensor ${t.index} (${t.name}) is ${t.type}, which the interpreter cannot compute with`);
      }
    }
    this.plan = planMemory(
      this.tensors.map((t) => ({
        planned: planned(t),
        bytes: planned(t) ? t.size * typeBytes(t.type) : 0,
        layoutKey: `${t.type}[${t.shape.join(',')}]`,
      })),
      running.map((s) => ({
        inputs: s.node.inputs.map((t) => t?.index ?? -1),
        outputs: s.node.outputs.map((t) => t.index),
        inPlace: s.def.inPlace,
      })),
      this.inputs.map((t) => t.index),
      this.outputs.map((t) => t.index),
    );
    this.arena.reserve(this.plan.totalBytes);
    this.boundBuffer = undefined;
    this.prepared = true;
  }

  /** The memory plan of the last prepare (for tests and diagnostics). */
  get memoryPlan(): MemoryPlan | undefined {
    return this.plan;
  }

  /** Copies `data` into input `position` (its length must match the current shape). */
  setInput(position: number, data: ArrayLike<number> | BigInt64Array): void {
    this.prepareIfNeeded();
    this.bindIfMoved();
    const t = this.inputs[position]!;
    t.data.set(data as never);
  }

  /** A tensor's data for the current shapes: its arena view, bound as run() binds it (planning memory first if needed). */
  view(t: RuntimeTensor): TypedArray {
    this.prepareIfNeeded();
    this.bindIfMoved();
    return t.data;
  }

  /** Runs every node; `timer` gets each node's wall time. */
  run(timer?: NodeTimer): void {
    this.prepareIfNeeded();
    this.bindIfMoved();
    for (const step of this.steps) {
      if (step.atPrepare) continue;
      this.bindIfMoved(); // a kernel taking scratch may have grown a WebAssembly memory
      const started = timer ? performance.now() : 0;
      this.guard(step.node, () => step.run(step.node, this.ctx));
      if (timer) timer(step.node, performance.now() - started);
    }
  }

  private bindIfMoved(): void {
    const { buffer, byteOffset } = this.arena.region();
    if (buffer === this.boundBuffer) return;
    const offsets = this.plan!.offsets;
    // Tensors outside the plan keep their binding (a fused node's fallback gives its intermediates private memory).
    for (const t of this.tensors) {
      const at = offsets[t.index]!;
      if (at >= 0) t.bind(typedView(t.type, buffer, byteOffset + at, t.size));
    }
    this.boundBuffer = buffer;
  }

  /**
   * A small integer result computable now: SHAPE (which reads only shapes)
   * or integer ops on values already known. Computing these while preparing
   * lets RESHAPE, RESIZE_* and friends take run-time shapes as constants.
   */
  private isShapeComputation(step: Step): boolean {
    const outs = step.node.outputs;
    if (!outs.every((t) => (t.type === 'INT32' || t.type === 'INT64') && t.size <= SHAPE_VALUE_LIMIT)) return false;
    return step.def.readsShapeOnly === true || step.node.inputs.every((t) => !t || t.isConstant);
  }

  private evaluateAtPrepare(step: Step): void {
    for (const t of step.node.outputs) t.bind(allocTyped(t.type, t.size));
    step.def.run(step.node, this.ctx);
    for (const t of step.node.outputs) {
      t.constant = new ConstantValue(t.type, t.data, t.shape);
      t.bind(undefined);
      this.shapeValues.add(t);
    }
  }

  private foldable(node: Node): boolean {
    const present = node.inputs.filter((t) => t !== undefined);
    return present.length > 0 && present.every((t) => t.isConstant);
  }

  /** Evaluates a node with constant inputs once, at load; its outputs become constants. */
  private fold(step: Step): void {
    this.guard(step.node, () => {
      if (step.def.fold) {
        step.def.fold(step.node, this.ctx);
        return;
      }
      step.def.prepare(step.node, this.ctx);
      for (const t of step.node.outputs) t.bind(allocTyped(t.type, t.size));
      step.def.run(step.node, this.ctx);
      for (const t of step.node.outputs) {
        t.constant = new ConstantValue(t.type, t.data, t.shape);
        t.bind(undefined);
      }
    });
  }

  private tensorAt(index: number, what: string): RuntimeTensor {
    const t = this.tensors[index];
    if (!t) this.fail(`${what} ${index} is not a tensor (${this.tensors.length} tensors)`);
    return t;
  }

  /** Runs `fn`, prefixing an expected failure with the operator it came from. */
  private guard(node: Node, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof SdError)) throw err;
      const where = `subgraph ${this.subgraphIndex} operator ${node.index} (${node.op})`;
      if (err instanceof FormatError) throw new FormatError(err.file, `${where}: ${err.message.slice(err.file.length + 2)}`);
      throw new UsageError(`${where}: ${err.message}`);
    }
  }

  private fail(detail: string): never {
    throw new FormatError(this.loaded.file.file, `subgraph ${this.subgraphIndex}: ${detail}`);
  }
}
