import * as fs from 'node:fs';
import * as path from 'node:path';
import { Builder } from 'flatbuffers';
import { UsageError } from '../errors.js';
import { Buffer as FbBuffer } from './schema/tflite/buffer.js';
import { Metadata } from './schema/tflite/metadata.js';
import { Model } from './schema/tflite/model.js';
import { Operator } from './schema/tflite/operator.js';
import { OperatorCode } from './schema/tflite/operator-code.js';
import { QuantizationParameters } from './schema/tflite/quantization-parameters.js';
import { SignatureDef } from './schema/tflite/signature-def.js';
import { SubGraph } from './schema/tflite/sub-graph.js';
import { Tensor } from './schema/tflite/tensor.js';
import { TensorMap } from './schema/tflite/tensor-map.js';
import { encodeOptions } from './options.js';
import { PLACEHOLDER_FOR_GREATER_OP_CODES, tensorTypeCode } from './types.js';
import type { ConstantData, PlannedTensor, SubgraphBuilder, TfliteModelBuilder } from './writer.js';

// File layout. The flatbuffer ("skeleton": every table, no constant data)
// comes first, then each constant buffer, 16-byte aligned, then 16 zero
// bytes (XNNPACK may read a little past a buffer's end, as upstream pads).
//  - inline layout: each buffer is a flatbuffer [ubyte] vector (length word,
//    then data) that Buffer.data points forward to, past the skeleton. The
//    flatbuffers Builder measures offsets from the end of what it built, so
//    an object d bytes past that end has offset -d and addOffset() produces
//    the right forward uoffset.
//  - offset layout (files over 2 GB, or forced): Buffer.offset/size hold the
//    absolute file position and size, as upstream's exporter writes them,
//    and metadata `buffer_location` = "outside flatbuffers" marks the file
//    (upstream's loaders look for it).
// Metadata buffers are small and always sit inside the skeleton.

export interface WriteOptions {
  /** Keep constant data after the flatbuffer (Buffer.offset/size) even when the file is under 2 GB. */
  forceOffsetLayout?: boolean;
}

const ALIGN = 16;
const TAIL_PADDING = 16;
/** Largest flatbuffer the runtimes accept (signed 32-bit offsets). */
const MAX_FLATBUFFER = 2 ** 31 - 1;

interface Placement {
  buffer: number;
  /** Position of the first data byte, relative to the end of the skeleton. */
  dataAt: number;
  data: ConstantData;
}

interface Plan {
  layout: 'inline' | 'offset';
  skeleton: Uint8Array;
  placements: Placement[];
  /** Relative end of the data region (before tail padding). */
  dataEnd: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

function placeBuffers(model: TfliteModelBuilder, layout: 'inline' | 'offset'): { placements: Placement[]; dataEnd: number } {
  const placements: Placement[] = [];
  let at = 0;
  model.buffers.forEach((data, buffer) => {
    if (!data) return;
    // Inline: a 4-byte length word precedes the data, which must be aligned.
    const dataAt = layout === 'inline' ? alignUp(at + 4, ALIGN) : alignUp(at, ALIGN);
    placements.push({ buffer, dataAt, data });
    at = dataAt + data.byteLength;
  });
  return { placements, dataEnd: at };
}

const BUFFER_LOCATION = 'buffer_location';

/** Metadata entries to write: the model's, plus the offset-layout marker. */
function metadataOf(model: TfliteModelBuilder, layout: 'inline' | 'offset'): { name: string; buffer: number; data: Uint8Array }[] {
  const entries = [...model.metadata];
  if (layout === 'offset' && !entries.some((m) => m.name === BUFFER_LOCATION)) {
    entries.push({ name: BUFFER_LOCATION, buffer: model.buffers.length, data: new TextEncoder().encode('outside flatbuffers') });
  }
  return entries;
}

/** Builds the skeleton; `base` is the absolute position of the skeleton's end (offset layout only). */
function buildSkeleton(model: TfliteModelBuilder, layout: 'inline' | 'offset', placements: Placement[], base: number): Uint8Array {
  const b = new Builder(64 * 1024);
  // Makes the finished skeleton's length a multiple of 16, so positions
  // relative to its end keep their 16-byte alignment in the file.
  b.prep(ALIGN, 0);

  const byBuffer = new Map(placements.map((p) => [p.buffer, p]));
  const metadataEntries = metadataOf(model, layout);
  const metadataData = new Map(metadataEntries.map((m) => [m.buffer, m.data]));
  const bufferCount = Math.max(model.buffers.length, ...metadataEntries.map((m) => m.buffer + 1));
  const bufferRefs = Array.from({ length: bufferCount }, (_, i) => {
    const p = byBuffer.get(i);
    const inside = metadataData.get(i);
    if (inside) {
      b.startVector(1, inside.length, ALIGN);
      for (let k = inside.length - 1; k >= 0; k--) b.addInt8(inside[k]!);
      const data = b.endVector();
      FbBuffer.startBuffer(b);
      FbBuffer.addData(b, data);
      return FbBuffer.endBuffer(b);
    }
    if (!p) {
      FbBuffer.startBuffer(b);
      return FbBuffer.endBuffer(b);
    }
    if (layout === 'inline') {
      FbBuffer.startBuffer(b);
      FbBuffer.addData(b, -(p.dataAt - 4)); // the vector starts at its length word
      return FbBuffer.endBuffer(b);
    }
    FbBuffer.startBuffer(b);
    FbBuffer.addOffset(b, BigInt(base + p.dataAt));
    FbBuffer.addSize(b, BigInt(p.data.byteLength));
    return FbBuffer.endBuffer(b);
  });

  const opcodeRefs = model.opcodes.map((c) => {
    const custom = c.customCode !== undefined ? b.createString(c.customCode) : 0;
    OperatorCode.startOperatorCode(b);
    OperatorCode.addDeprecatedBuiltinCode(b, Math.min(c.builtinCode, PLACEHOLDER_FOR_GREATER_OP_CODES));
    if (custom) OperatorCode.addCustomCode(b, custom);
    OperatorCode.addVersion(b, c.version);
    OperatorCode.addBuiltinCode(b, c.builtinCode);
    return OperatorCode.endOperatorCode(b);
  });

  const subgraphRefs = model.subgraphs.map((sg) => buildSubgraph(b, sg));

  const signatureRefs = model.signatures.map((s) => {
    const maps = (entries: [string, number][]) =>
      entries.map(([name, index]) => {
        const n = b.createString(name);
        TensorMap.startTensorMap(b);
        TensorMap.addName(b, n);
        TensorMap.addTensorIndex(b, index);
        return TensorMap.endTensorMap(b);
      });
    const inputs = SignatureDef.createInputsVector(b, maps(s.inputs));
    const outputs = SignatureDef.createOutputsVector(b, maps(s.outputs));
    const key = b.createString(s.key);
    SignatureDef.startSignatureDef(b);
    SignatureDef.addInputs(b, inputs);
    SignatureDef.addOutputs(b, outputs);
    SignatureDef.addSignatureKey(b, key);
    SignatureDef.addSubgraphIndex(b, s.subgraphIndex);
    return SignatureDef.endSignatureDef(b);
  });

  const metadataRefs = metadataEntries.map((m) => {
    const name = b.createString(m.name);
    Metadata.startMetadata(b);
    Metadata.addName(b, name);
    Metadata.addBuffer(b, m.buffer);
    return Metadata.endMetadata(b);
  });

  const opcodes = Model.createOperatorCodesVector(b, opcodeRefs);
  const subgraphs = Model.createSubgraphsVector(b, subgraphRefs);
  const description = b.createString(model.description);
  const buffers = Model.createBuffersVector(b, bufferRefs);
  const metadata = metadataRefs.length ? Model.createMetadataVector(b, metadataRefs) : 0;
  const signatures = signatureRefs.length ? Model.createSignatureDefsVector(b, signatureRefs) : 0;
  Model.startModel(b);
  Model.addVersion(b, 3);
  Model.addOperatorCodes(b, opcodes);
  Model.addSubgraphs(b, subgraphs);
  Model.addDescription(b, description);
  Model.addBuffers(b, buffers);
  if (metadata) Model.addMetadata(b, metadata);
  if (signatures) Model.addSignatureDefs(b, signatures);
  Model.finishModelBuffer(b, Model.endModel(b));
  return b.asUint8Array().slice();
}

function buildSubgraph(b: Builder, sg: SubgraphBuilder): number {
  const tensorRefs = sg.tensors.map((t) => buildTensor(b, t));
  const operatorRefs = sg.operators.map((op) => {
    const inputs = Operator.createInputsVector(b, op.inputs);
    const outputs = Operator.createOutputsVector(b, op.outputs);
    const options = op.optionsTable && op.options ? encodeOptions(b, op.optionsTable, op.options) : 0;
    const custom = op.customOptions ? Operator.createCustomOptionsVector(b, op.customOptions) : 0;
    Operator.startOperator(b);
    Operator.addOpcodeIndex(b, op.opcode);
    Operator.addInputs(b, inputs);
    Operator.addOutputs(b, outputs);
    if (options && op.optionsTable!.union === 'builtin_options') {
      Operator.addBuiltinOptionsType(b, op.optionsTable!.unionType);
      Operator.addBuiltinOptions(b, options);
    } else if (options) {
      Operator.addBuiltinOptions2Type(b, op.optionsTable!.unionType);
      Operator.addBuiltinOptions2(b, options);
    }
    if (custom) Operator.addCustomOptions(b, custom);
    return Operator.endOperator(b);
  });
  const tensors = SubGraph.createTensorsVector(b, tensorRefs);
  const inputs = SubGraph.createInputsVector(b, sg.inputs);
  const outputs = SubGraph.createOutputsVector(b, sg.outputs);
  const operators = SubGraph.createOperatorsVector(b, operatorRefs);
  const name = b.createString(sg.name);
  return SubGraph.createSubGraph(b, tensors, inputs, outputs, operators, name);
}

function buildTensor(b: Builder, t: PlannedTensor): number {
  const dynamic = t.shape.some((d) => d === -1);
  // As upstream: `shape` holds 1 (or the size asked for) for a dynamic dimension, shape_signature -1.
  const shape = Tensor.createShapeVector(b, t.shape.map((d, i) => (d === -1 ? (t.defaultShape?.[i] ?? 1) : d)));
  const signature = dynamic ? Tensor.createShapeSignatureVector(b, t.shape) : 0;
  const name = b.createString(t.name);
  let quantization = 0;
  if (t.quantization) {
    const q = t.quantization;
    const min = q.min ? QuantizationParameters.createMinVector(b, q.min) : 0;
    const max = q.max ? QuantizationParameters.createMaxVector(b, q.max) : 0;
    const scale = QuantizationParameters.createScaleVector(b, q.scale);
    const zeroPoint = QuantizationParameters.createZeroPointVector(b, q.zeroPoint.map((z) => BigInt(z)));
    QuantizationParameters.startQuantizationParameters(b);
    if (min) QuantizationParameters.addMin(b, min);
    if (max) QuantizationParameters.addMax(b, max);
    QuantizationParameters.addScale(b, scale);
    QuantizationParameters.addZeroPoint(b, zeroPoint);
    QuantizationParameters.addQuantizedDimension(b, q.quantizedDimension);
    quantization = QuantizationParameters.endQuantizationParameters(b);
  }
  Tensor.startTensor(b);
  Tensor.addShape(b, shape);
  Tensor.addType(b, tensorTypeCode(t.type));
  Tensor.addBuffer(b, t.buffer);
  Tensor.addName(b, name);
  if (quantization) Tensor.addQuantization(b, quantization);
  Tensor.addIsVariable(b, t.isVariable);
  if (signature) Tensor.addShapeSignature(b, signature);
  Tensor.addHasRank(b, true);
  return Tensor.endTensor(b);
}

/** Chooses the layout and builds the skeleton with final buffer positions. */
export function buildFlatbuffer(model: TfliteModelBuilder, options: WriteOptions): Plan {
  if (!options.forceOffsetLayout) {
    const { placements, dataEnd } = placeBuffers(model, 'inline');
    const skeleton = buildSkeleton(model, 'inline', placements, 0);
    if (skeleton.length + dataEnd + TAIL_PADDING <= MAX_FLATBUFFER) return { layout: 'inline', skeleton, placements, dataEnd };
  }
  const { placements, dataEnd } = placeBuffers(model, 'offset');
  // Absolute offsets need the skeleton's length, which does not depend on
  // their values (fixed-size fields): measure with placeholders, rebuild.
  const probe = buildSkeleton(model, 'offset', placements, ALIGN);
  const skeleton = buildSkeleton(model, 'offset', placements, probe.length);
  if (skeleton.length !== probe.length) throw new Error('bug: offset-layout skeleton changed size between passes');
  if (skeleton.length > MAX_FLATBUFFER) throw new UsageError(`model structure alone is ${skeleton.length} bytes, over the 2 GB flatbuffer limit`);
  return { layout: 'offset', skeleton, placements, dataEnd };
}

type Sink = (bytes: Uint8Array) => void;

function emitModel(plan: Plan, sink: Sink): void {
  sink(plan.skeleton);
  let at = 0; // relative to the skeleton's end
  const zeros = new Uint8Array(ALIGN + 4);
  const header = new DataView(new ArrayBuffer(4));
  for (const p of plan.placements) {
    const lengthWord = plan.layout === 'inline' ? 4 : 0;
    sink(zeros.subarray(0, p.dataAt - lengthWord - at));
    if (lengthWord) {
      header.setUint32(0, p.data.byteLength, true);
      sink(new Uint8Array(header.buffer.slice(0)));
    }
    emitData(p, sink);
    at = p.dataAt + p.data.byteLength;
  }
  sink(new Uint8Array(TAIL_PADDING));
}

function emitData(p: Placement, sink: Sink): void {
  if (p.data instanceof Uint8Array) {
    sink(p.data);
    return;
  }
  let written = 0;
  p.data.produce((chunk) => {
    written += chunk.byteLength;
    if (written > p.data.byteLength) throw new UsageError(`buffer ${p.buffer}: producer emitted more than the declared ${p.data.byteLength} bytes`);
    sink(chunk);
  });
  if (written !== p.data.byteLength) throw new UsageError(`buffer ${p.buffer}: producer emitted ${written} bytes, declared ${p.data.byteLength}`);
}

export function toBytes(model: TfliteModelBuilder, options: WriteOptions): Uint8Array {
  const plan = buildFlatbuffer(model, options);
  const chunks: Uint8Array[] = [];
  let total = 0;
  emitModel(plan, (bytes) => {
    chunks.push(bytes.slice()); // producers may reuse their chunk buffers
    total += bytes.byteLength;
  });
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function writeModel(model: TfliteModelBuilder, file: string, options: WriteOptions): void {
  const plan = buildFlatbuffer(model, options);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    emitModel(plan, (bytes) => {
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
    });
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
