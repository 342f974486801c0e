import type { TfliteSubgraph } from './model.js';
import type { TfliteFile } from './reader.js';

/** What `tflite info` reports about a model (also its --json output). */
export interface TensorSummary {
  name: string;
  tensor: number;
  dtype: string;
  /** -1 for a dynamic dimension. */
  shape: number[];
}

export interface ModelInfo {
  file: string;
  file_bytes: number;
  schema_version: number;
  description?: string;
  min_runtime_version?: string;
  /** 'offset': constant data after the flatbuffer (Buffer.offset/size); 'inline': inside it. */
  buffer_layout: 'inline' | 'offset';
  buffers: { total: number; inline: number; offset: number; empty: number };
  signatures: { key: string; subgraph_index: number; inputs: TensorSummary[]; outputs: TensorSummary[] }[];
  subgraphs: { index: number; name: string; tensors: number; operators: number; inputs: TensorSummary[]; outputs: TensorSummary[] }[];
  /**
   * Operators by builtin name (custom ones as CUSTOM:<name>), counted over
   * all subgraphs, including the decomposition subgraphs of
   * STABLEHLO_COMPOSITE operators: they are part of the file, and Google's
   * runtime runs them when it has no fused kernel.
   */
  op_counts: Record<string, number>;
  operators: number;
  /** Constant tensors and their bytes by dtype (a buffer shared by several tensors counts once). */
  constant_tensors: Record<string, number>;
  constant_bytes: Record<string, number>;
  quantized_constant_tensors: number;
  metadata: string[];
}

function summarize(sg: TfliteSubgraph, name: string, tensor: number): TensorSummary {
  const t = sg.tensors[tensor]!;
  return { name, tensor, dtype: t.type, shape: t.shapeSignature ?? t.shape };
}

export function modelInfo(file: TfliteFile): ModelInfo {
  const { model } = file;
  const opCounts: Record<string, number> = {};
  const constantTensors: Record<string, number> = {};
  const constantBytes: Record<string, number> = {};
  const countedBuffers = new Set<number>();
  let operators = 0;
  let quantized = 0;
  for (const sg of model.subgraphs) {
    for (const op of sg.operators) {
      opCounts[op.opName] = (opCounts[op.opName] ?? 0) + 1;
      operators++;
    }
    for (const t of sg.tensors) {
      const size = model.buffers[t.buffer]!.size;
      if (size === 0) continue;
      constantTensors[t.type] = (constantTensors[t.type] ?? 0) + 1;
      if (t.quantization) quantized++;
      if (!countedBuffers.has(t.buffer)) {
        countedBuffers.add(t.buffer);
        constantBytes[t.type] = (constantBytes[t.type] ?? 0) + size;
      }
    }
  }
  const kinds = { inline: 0, offset: 0, empty: 0 };
  for (const b of model.buffers) kinds[b.kind]++;
  return {
    file: file.file,
    file_bytes: file.fileSize,
    schema_version: model.version,
    ...(model.description !== undefined ? { description: model.description } : {}),
    ...(file.minRuntimeVersion() !== undefined ? { min_runtime_version: file.minRuntimeVersion() } : {}),
    buffer_layout: model.layout,
    buffers: { total: model.buffers.length, ...kinds },
    signatures: model.signatures.map((s) => {
      const sg = model.subgraphs[s.subgraphIndex]!;
      return {
        key: s.key,
        subgraph_index: s.subgraphIndex,
        inputs: s.inputs.map((m) => summarize(sg, m.name, m.tensorIndex)),
        outputs: s.outputs.map((m) => summarize(sg, m.name, m.tensorIndex)),
      };
    }),
    subgraphs: model.subgraphs.map((sg, index) => ({
      index,
      name: sg.name,
      tensors: sg.tensors.length,
      operators: sg.operators.length,
      inputs: sg.inputs.map((t) => summarize(sg, sg.tensors[t]!.name, t)),
      outputs: sg.outputs.map((t) => summarize(sg, sg.tensors[t]!.name, t)),
    })),
    op_counts: opCounts,
    operators,
    constant_tensors: constantTensors,
    constant_bytes: constantBytes,
    quantized_constant_tensors: quantized,
    metadata: model.metadata.map((m) => m.name),
  };
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;
const tensorText = (t: TensorSummary) => `${t.name}: ${t.dtype} ${shapeText(t.shape)}  (tensor ${t.tensor})`;

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The human-readable report. */
export function formatInfo(info: ModelInfo): string {
  const lines: string[] = [];
  lines.push(`${info.file}: ${bytesText(info.file_bytes)}, schema v${info.schema_version}` +
    (info.min_runtime_version ? `, min runtime ${info.min_runtime_version}` : ''));
  if (info.description) lines.push(`description: ${info.description}`);
  const b = info.buffers;
  lines.push(`buffers: ${info.buffer_layout} layout; ${b.total} buffers (${b.inline} inline, ${b.offset} offset, ${b.empty} empty)`);
  lines.push(info.signatures.length ? 'signatures:' : 'signatures: none');
  for (const s of info.signatures) {
    lines.push(`  ${s.key} (subgraph ${s.subgraph_index})`);
    for (const t of s.inputs) lines.push(`    in   ${tensorText(t)}`);
    for (const t of s.outputs) lines.push(`    out  ${tensorText(t)}`);
  }
  lines.push('subgraphs:');
  for (const sg of info.subgraphs) {
    lines.push(`  ${sg.index} ${sg.name ? `"${sg.name}"` : '(unnamed)'}: ${sg.tensors} tensors, ${sg.operators} operator${sg.operators === 1 ? '' : 's'}`);
    for (const t of sg.inputs) lines.push(`    in   ${tensorText(t)}`);
    for (const t of sg.outputs) lines.push(`    out  ${tensorText(t)}`);
  }
  lines.push(`operators: ${info.operators} in all subgraphs`);
  const ops = Object.entries(info.op_counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(0, ...ops.map(([name]) => name.length));
  for (const [name, n] of ops) lines.push(`  ${name.padEnd(width)}  ${n}`);
  const dtypes = Object.keys(info.constant_tensors).sort();
  lines.push(dtypes.length ? 'constants:' : 'constants: none');
  for (const d of dtypes) lines.push(`  ${d}: ${info.constant_tensors[d]} tensors, ${bytesText(info.constant_bytes[d] ?? 0)}`);
  if (info.quantized_constant_tensors) lines.push(`  quantized constants: ${info.quantized_constant_tensors}`);
  if (info.metadata.length) lines.push(`metadata: ${info.metadata.join(', ')}`);
  return lines.join('\n');
}

