/** Per-operator timing (tflite run --profile): totals by op type and the slowest operators. */
import type { NodeTimer } from './subgraph-executor.js';

export class Profiler {
  readonly byType = new Map<string, { ms: number; count: number }>();
  readonly byNode = new Map<number, { op: string; ms: number; shape: string }>();

  timer(): NodeTimer {
    return (node, ms) => {
      const t = this.byType.get(node.op) ?? { ms: 0, count: 0 };
      t.ms += ms;
      t.count++;
      this.byType.set(node.op, t);
      const n = this.byNode.get(node.index) ?? { op: node.op, ms: 0, shape: node.outputs[0] ? `[${node.outputs[0].shape.join(', ')}]` : '' };
      n.ms += ms;
      this.byNode.set(node.index, n);
    };
  }
}

/** A text table; times are per invocation (totals divided by `runs`). */
export function formatProfile(p: Profiler, runs: number, slowest = 10): string {
  const total = [...p.byType.values()].reduce((s, t) => s + t.ms, 0) || 1;
  const lines = ['time per op type (per invocation):', '  op type                      count        ms      %'];
  for (const [op, t] of [...p.byType].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(`  ${op.padEnd(28)} ${String(t.count / runs).padStart(5)} ${(t.ms / runs).toFixed(3).padStart(9)} ${((100 * t.ms) / total).toFixed(1).padStart(6)}`);
  }
  lines.push(`slowest operators (per invocation):`, '  index  op                           output shape              ms');
  for (const [index, n] of [...p.byNode].sort((a, b) => b[1].ms - a[1].ms).slice(0, slowest)) {
    lines.push(`  ${String(index).padStart(5)}  ${n.op.padEnd(28)} ${n.shape.padEnd(22)} ${(n.ms / runs).toFixed(3).padStart(9)}`);
  }
  return `${lines.join('\n')}\n`;
}
