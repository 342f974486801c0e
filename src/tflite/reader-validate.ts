import type { TfliteModel, TfliteSubgraph } from './model.js';
import { elementBytes, elementCount } from './types.js';

/**
 * Checks what decoding alone does not: every index in range, constant sizes
 * matching shape x type, quantization consistent with the shape, and each
 * subgraph a valid dataflow graph in execution order (a tensor is produced
 * at most once, never overwrites an input or constant, and is produced
 * before it is used, which also rules out cycles).
 * `fail` throws (a FormatError naming the file).
 */
export function validateModel(model: TfliteModel, fail: (detail: string) => never): void {
  const { buffers, subgraphs } = model;
  model.metadata.forEach((m, i) => {
    if (m.buffer >= buffers.length) fail(`metadata ${i} (${m.name}): buffer ${m.buffer} out of range (${buffers.length} buffers)`);
  });
  subgraphs.forEach((sg, s) => validateSubgraph(model, sg, s, fail));
  model.signatures.forEach((sig, i) => {
    const where = `signature ${i} (${sig.key})`;
    const sg = subgraphs[sig.subgraphIndex] ?? fail(`${where}: subgraph ${sig.subgraphIndex} out of range (${subgraphs.length} subgraphs)`);
    for (const m of [...sig.inputs, ...sig.outputs]) {
      if (m.tensorIndex >= sg.tensors.length) fail(`${where}: ${m.name} -> tensor ${m.tensorIndex} out of range (${sg.tensors.length} tensors)`);
    }
  });
}

function validateSubgraph(model: TfliteModel, sg: TfliteSubgraph, s: number, fail: (detail: string) => never): void {
  const n = sg.tensors.length;
  const inRange = (t: number) => Number.isInteger(t) && t >= 0 && t < n;

  const available = new Uint8Array(n); // 1 = holds a value before the first operator runs
  sg.tensors.forEach((t, i) => {
    const where = `subgraph ${s} tensor ${i} (${t.name})`;
    if (t.shape.some((d) => d < 0)) fail(`${where}: negative dimension in shape [${t.shape.join(', ')}]`);
    if (t.shapeSignature) {
      if (t.shapeSignature.length !== t.shape.length) fail(`${where}: shape_signature [${t.shapeSignature.join(', ')}] and shape [${t.shape.join(', ')}] differ in rank`);
      if (t.shapeSignature.some((d) => d < -1)) fail(`${where}: bad shape_signature [${t.shapeSignature.join(', ')}]`);
    }
    const buffer = model.buffers[t.buffer] ?? fail(`${where}: buffer ${t.buffer} out of range (${model.buffers.length} buffers)`);
    if (buffer.size > 0) {
      available[i] = 1;
      const bytes = elementBytes(t.type);
      if (bytes !== undefined && !t.sparse && buffer.size !== elementCount(t.shape) * bytes) {
        fail(`${where}: constant holds ${buffer.size} bytes, ${t.type} [${t.shape.join(', ')}] needs ${elementCount(t.shape) * bytes}`);
      }
    }
    if (t.isVariable) available[i] = 1;
    const q = t.quantization;
    if (q && q.scale.length > 1) {
      if (q.quantizedDimension < 0 || q.quantizedDimension >= t.shape.length) {
        fail(`${where}: quantized_dimension ${q.quantizedDimension} out of range for rank ${t.shape.length}`);
      }
      if (t.shape[q.quantizedDimension] !== q.scale.length) {
        fail(`${where}: ${q.scale.length} scales for dimension ${q.quantizedDimension} of size ${t.shape[q.quantizedDimension]}`);
      }
    }
    if (q && q.zeroPoint.length > 0 && q.zeroPoint.length !== q.scale.length) {
      fail(`${where}: ${q.scale.length} scales but ${q.zeroPoint.length} zero points`);
    }
  });
  for (const t of sg.inputs) {
    if (!inRange(t)) fail(`subgraph ${s}: input ${t} out of range (${n} tensors)`);
    available[t] = 1;
  }

  const producer = new Int32Array(n).fill(-1);
  sg.operators.forEach((op, o) => {
    const where = `subgraph ${s} operator ${o} (${op.opName})`;
    for (const t of op.inputs) {
      if (t === -1) continue;
      if (!inRange(t)) fail(`${where}: input ${t} out of range (${n} tensors)`);
      if (!available[t] && producer[t] === -1) {
        fail(`${where}: input ${t} (${sg.tensors[t]!.name}) is used before any operator produces it`);
      }
    }
    for (const t of op.intermediates) if (!inRange(t)) fail(`${where}: intermediate ${t} out of range (${n} tensors)`);
    for (const t of op.outputs) {
      if (!inRange(t)) fail(`${where}: output ${t} out of range (${n} tensors)`);
      if (producer[t] !== -1) fail(`${where}: output ${t} (${sg.tensors[t]!.name}) is already produced by operator ${producer[t]}`);
      if (available[t] && !sg.tensors[t]!.isVariable) fail(`${where}: output ${t} (${sg.tensors[t]!.name}) overwrites a subgraph input or constant`);
      producer[t] = o;
    }
    const decomposition = op.opName === 'STABLEHLO_COMPOSITE' ? op.options?.['decompositionSubgraphIndex'] : undefined;
    if (typeof decomposition === 'number' && (decomposition < 0 || decomposition >= model.subgraphs.length)) {
      fail(`${where}: decomposition subgraph ${decomposition} out of range (${model.subgraphs.length} subgraphs)`);
    }
  });
  for (const t of sg.outputs) {
    if (!inRange(t)) fail(`subgraph ${s}: output ${t} out of range (${n} tensors)`);
    if (!available[t] && producer[t] === -1) fail(`subgraph ${s}: output ${t} (${sg.tensors[t]!.name}) is never produced`);
  }
}
