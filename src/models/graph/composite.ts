/**
 * STABLEHLO_COMPOSITE operators for `--target gpu`, as ai-edge-torch emits
 * them: the operator carries a name and FlexBuffers attributes, and points
 * to a decomposition subgraph (one per call site) that computes the same
 * thing with builtin ops, so a runtime that does not know the composite
 * still runs it.
 */
import { encode } from 'flatbuffers/js/flexbuffers.js';
import { Graph, type Tensor } from './graph.js';

export function composite(
  g: Graph,
  name: string,
  attributes: Record<string, unknown>,
  inputs: readonly Tensor[],
  decomposition: (sub: Graph, args: Tensor[]) => Tensor,
): Tensor {
  const sg = g.model.addSubgraph(`${name}.impl_${g.model.subgraphs.length - 1}`);
  const sub = new Graph(g.model, sg);
  const args = inputs.map((t, i) => sub.input(`${sg.name}_arg${i}`, t.type, t.shape));
  const result = decomposition(sub, args);
  sub.markOutput(result);
  const y = g.tensor(name, result.shape);
  g.sg.addOperator('STABLEHLO_COMPOSITE', inputs.map((t) => t.id), [y.id], {
    name,
    decompositionSubgraphIndex: sg.index,
    compositeAttributes: encode(attributes),
    compositeAttributesFormat: 'FLEXBUFFERS',
    version: 0,
  });
  return y;
}
