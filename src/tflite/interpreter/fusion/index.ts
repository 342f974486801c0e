/**
 * Fusion: recognises group norm, layer norm, tanh GELU and attention
 * written as builtin ops and replaces each region by one fused step (see
 * fused-op.ts). Anchors are tried from the last step backwards so the
 * largest region (the one ending latest) wins; a step belongs to at most
 * one fused region.
 */
import type { RuntimeTensor } from '../runtime-tensor.js';
import type { Step } from '../subgraph-executor.js';
import { attentionPattern } from './attention.js';
import { geluTanhPattern } from './gelu-tanh.js';
import { GraphIndex } from './graph-index.js';
import { groupNormPattern } from './group-norm.js';
import { layerNormPattern } from './layer-norm.js';
import type { FusionPattern } from './pattern.js';

const PATTERNS: readonly FusionPattern[] = [groupNormPattern, layerNormPattern, geluTanhPattern, attentionPattern];

export function fuseSubgraph(steps: readonly Step[], graphOutputs: readonly RuntimeTensor[]): Step[] {
  const graph = new GraphIndex(steps, graphOutputs);
  const taken = new Set<Step>();
  const fusedAt = new Map<Step, Step>();
  for (let i = steps.length - 1; i >= 0; i--) {
    const anchor = steps[i]!;
    if (taken.has(anchor)) continue;
    for (const pattern of PATTERNS) {
      const m = pattern.match(anchor, graph, steps);
      if (!m || [...m.region].some((s) => taken.has(s))) continue;
      for (const s of m.region) taken.add(s);
      // The fused step takes the place of the region's last step (a region may extend past its anchor, e.g. a SiLU).
      const last = steps.reduce((at, s, k) => (m.region.has(s) ? k : at), i);
      fusedAt.set(steps[last]!, m.step);
      break;
    }
  }
  return steps.flatMap((s) => fusedAt.get(s) ?? (taken.has(s) ? [] : [s]));
}
