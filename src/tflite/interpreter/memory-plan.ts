/**
 * Static memory planning for one subgraph's activations, as TFLite's arena
 * planner does it:
 *
 * 1. Lifetimes: a tensor lives from the node that writes it to its last
 *    reader; graph inputs live from before node 0 and graph outputs past
 *    the last node, and graph inputs to the end too, so a run never
 *    overwrites them (TFLite's planner keeps inputs intact the same way:
 *    invoke() can be repeated on inputs written once).
 * 2. Sharing: an 'alias' node (RESHAPE, SQUEEZE) puts its output in its
 *    input's bytes; an 'elementwise' node writes into an input of the same
 *    type and shape when that input dies at this node. Tensors that share
 *    bytes form a group whose lifetime is the union of its members'.
 * 3. Placement, greedy by size: the largest group first, each at the lowest
 *    offset that overlaps no placed group alive at the same time.
 */

export interface PlanTensor {
  /** False for constants and anything else not kept in the arena. */
  readonly planned: boolean;
  readonly bytes: number;
  /** Type and shape, compared for in-place reuse. */
  readonly layoutKey: string;
}

export interface PlanNode {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly inPlace?: 'alias' | 'elementwise';
}

export interface MemoryPlan {
  /** Byte offset of each tensor in the arena; -1 for tensors not planned. */
  readonly offsets: number[];
  readonly totalBytes: number;
  /** Sharing groups (tensor indices) with their lifetime, for tests and diagnostics. */
  readonly groups: readonly PlanGroup[];
}

export interface PlanGroup {
  members: number[];
  bytes: number;
  /** Lifetime in node indices (-1 = before the first node). */
  first: number;
  last: number;
  offset: number;
}

export const ARENA_ALIGN = 64;

const alignUp = (n: number): number => Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;

export function planMemory(
  tensors: readonly PlanTensor[],
  nodes: readonly PlanNode[],
  graphInputs: readonly number[],
  graphOutputs: readonly number[],
): MemoryPlan {
  const end = nodes.length;
  const first = new Array<number>(tensors.length).fill(Infinity);
  const last = new Array<number>(tensors.length).fill(-Infinity);
  const touch = (t: number, at: number): void => {
    if (t < 0 || !tensors[t]!.planned) return;
    first[t] = Math.min(first[t]!, at);
    last[t] = Math.max(last[t]!, at);
  };
  for (const t of graphInputs) touch(t, -1);
  nodes.forEach((n, i) => {
    for (const t of n.outputs) touch(t, i);
    for (const t of n.inputs) touch(t, i);
  });
  for (const t of graphOutputs) touch(t, end);
  for (const t of graphInputs) touch(t, end);

  // Union-find over tensors sharing bytes.
  const parent = tensors.map((_, i) => i);
  const find = (t: number): number => (parent[t] === t ? t : (parent[t] = find(parent[t]!)));
  const groupLast = [...last];
  const join = (into: number, t: number): void => {
    const root = find(into);
    parent[t] = root;
    groupLast[root] = Math.max(groupLast[root]!, last[t]!);
  };
  nodes.forEach((n, i) => {
    if (!n.inPlace || n.outputs.length !== 1) return;
    const out = n.outputs[0]!;
    if (!tensors[out]!.planned || find(out) !== out) return;
    const candidates = n.inPlace === 'alias' ? n.inputs.slice(0, 1) : n.inputs;
    for (const t of candidates) {
      if (t < 0 || t === out || !tensors[t]!.planned) continue;
      const root = find(t);
      if (n.inPlace === 'alias') {
        if (tensors[t]!.bytes !== tensors[out]!.bytes) continue;
      } else if (tensors[t]!.layoutKey !== tensors[out]!.layoutKey || groupLast[root] !== i) continue;
      join(t, out);
      break;
    }
  });

  const byRoot = new Map<number, PlanGroup>();
  tensors.forEach((t, i) => {
    if (!t.planned || first[i] === Infinity) return;
    const root = find(i);
    let g = byRoot.get(root);
    if (!g) {
      g = { members: [], bytes: 0, first: Infinity, last: -Infinity, offset: -1 };
      byRoot.set(root, g);
    }
    g.members.push(i);
    g.bytes = Math.max(g.bytes, alignUp(t.bytes));
    g.first = Math.min(g.first, first[i]!);
    g.last = Math.max(g.last, last[i]!);
  });

  const groups = [...byRoot.values()];
  const order = [...groups].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const placed: PlanGroup[] = [];
  let totalBytes = 0;
  for (const g of order) {
    const live = placed.filter((p) => p.first <= g.last && g.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of live) {
      if (p.offset - offset >= g.bytes) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    g.offset = offset;
    placed.push(g);
    totalBytes = Math.max(totalBytes, offset + g.bytes);
  }

  const offsets = new Array<number>(tensors.length).fill(-1);
  for (const g of groups) for (const m of g.members) offsets[m] = g.offset;
  return { offsets, totalBytes, groups };
}
