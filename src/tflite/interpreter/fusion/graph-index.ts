/**
 * What the fusion patterns need to read a subgraph backwards: who writes a
 * tensor, who reads it, and a Region that collects the steps of a candidate
 * match and checks that nothing outside it sees its intermediate tensors.
 */
import type { RuntimeTensor } from '../runtime-tensor.js';
import type { Step } from '../subgraph-executor.js';

export class GraphIndex {
  private readonly producers = new Map<RuntimeTensor, Step>();
  private readonly readers = new Map<RuntimeTensor, Step[]>();
  private readonly graphOutputs: Set<RuntimeTensor>;

  constructor(steps: readonly Step[], graphOutputs: readonly RuntimeTensor[]) {
    this.graphOutputs = new Set(graphOutputs);
    for (const s of steps) {
      for (const t of s.node.outputs) this.producers.set(t, s);
      for (const t of s.node.inputs) if (t) this.readers.set(t, [...(this.readers.get(t) ?? []), s]);
    }
  }

  producer(t: RuntimeTensor): Step | undefined {
    return this.producers.get(t);
  }

  readersOf(t: RuntimeTensor): readonly Step[] {
    return this.readers.get(t) ?? [];
  }

  isGraphOutput(t: RuntimeTensor): boolean {
    return this.graphOutputs.has(t);
  }
}

export class Region {
  readonly steps = new Set<Step>();

  constructor(private readonly graph: GraphIndex) {}

  /** The step writing `t`, if it is one of `ops` (and adds it to the region). */
  take(t: RuntimeTensor | undefined, ...ops: string[]): Step | undefined {
    if (!t) return undefined;
    const s = this.graph.producer(t);
    if (!s || !ops.includes(s.node.op) || s.node.outputs.length !== 1) return undefined;
    this.steps.add(s);
    return s;
  }

  /** Runs one alternative of a match; if it fails (undefined), the steps it took are given back. */
  attempt<T>(fn: () => T | undefined): T | undefined {
    const saved = new Set(this.steps);
    const result = fn();
    if (result === undefined) {
      this.steps.clear();
      for (const s of saved) this.steps.add(s);
    }
    return result;
  }

  /** The first alternative that matches. */
  firstOf<A, T>(alternatives: readonly A[], fn: (a: A) => T | undefined): T | undefined {
    for (const a of alternatives) {
      const r = this.attempt(() => fn(a));
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /**
   * True when every tensor the region writes, except `result`, is read only
   * inside the region and is not a graph output (so removing the steps
   * changes nothing anyone else sees).
   */
  sealed(result: RuntimeTensor): boolean {
    for (const s of this.steps) {
      for (const t of s.node.outputs) {
        if (t === result) continue;
        if (this.graph.isGraphOutput(t) || this.graph.readersOf(t).some((r) => !this.steps.has(r))) return false;
      }
    }
    return true;
  }
}

/** The value of a constant with one element (a scalar or [1, ...]). */
export function scalarConstant(t: RuntimeTensor | undefined): number | undefined {
  if (!t?.constant || t.size !== 1 || t.type !== 'FLOAT32') return undefined;
  return t.constant.float32()[0];
}

export function near(value: number | undefined, target: number, tolerance = 1e-6): boolean {
  return value !== undefined && Math.abs(value - target) <= tolerance * Math.max(1, Math.abs(target));
}

/** The two inputs of a binary step, in both orders (for commutative ops). */
export function bothOrders(s: Step): Array<[RuntimeTensor | undefined, RuntimeTensor | undefined]> {
  const [a, b] = s.node.inputs;
  return [[a, b], [b, a]];
}

/** Constant INT32 contents, or undefined. */
export function constantInts(t: RuntimeTensor | undefined): number[] | undefined {
  if (!t?.constant || (t.type !== 'INT32' && t.type !== 'INT64')) return undefined;
  return t.ints();
}

/** Whether the step has no fused activation (fused ops must not swallow one). */
export function noActivation(s: Step): boolean {
  const a = (s.node.options as { fusedActivationFunction?: string }).fusedActivationFunction;
  return a === undefined || a === 'NONE';
}
