/** A fusion pattern: recognises a region of builtin ops ending at an anchor step and builds the fused step. */
import type { Step } from '../subgraph-executor.js';
import type { GraphIndex } from './graph-index.js';

export interface FusionMatch {
  readonly region: ReadonlySet<Step>;
  readonly step: Step;
}

export interface FusionPattern {
  readonly name: string;
  /** `order` is the subgraph's steps in execution order (to keep the region's order for the fallback). */
  match(anchor: Step, graph: GraphIndex, order: readonly Step[]): FusionMatch | undefined;
}
