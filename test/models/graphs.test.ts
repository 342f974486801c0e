// The structure of the converted graphs, read back with our reader: the
// signatures of DESIGN.md, builtin ops only for --target cpu, composites for
// --target gpu, and the weight encodings of each --precision.
import { afterAll, describe, expect, it } from 'vitest';
import { toObject } from 'flatbuffers/js/flexbuffers.js';
import { f16ArrayToF32 } from '../../src/io/half.js';
import type { ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { buildComponent, checkComponents, type ConvertOptions } from '../../src/models/convert.js';
import type { Target } from '../../src/models/graph/nn.js';
import type { Precision } from '../../src/models/graph/weights.js';
import { TfliteFile } from '../../src/tflite/reader.js';
import { openTinyA, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
const checkpoint = openTinyA();
const weights = checkComponents(checkpoint, ['clip', 'diffusion', 'decoder', 'encoder'], config);
afterAll(() => checkpoint.close());

function convert(component: ComponentName, precision: Precision = 'fp32', target: Target = 'cpu', size?: [number, number]): TfliteFile {
  const options: ConvertOptions = { config, precision, target, height: size?.[0], width: size?.[1] };
  return TfliteFile.fromBytes(buildComponent(component, weights.get(component)!, options).model.toBuffer(), component);
}

interface Io {
  name: string;
  type: string;
  shape: number[];
}

function signature(file: TfliteFile): { key: string; inputs: Io[]; outputs: Io[] } {
  const m = file.model;
  const s = m.signatures[0]!;
  const io = (e: { name: string; tensorIndex: number }): Io => {
    const t = m.subgraphs[s.subgraphIndex]!.tensors[e.tensorIndex]!;
    return { name: e.name, type: t.type, shape: t.shapeSignature ?? t.shape };
  };
  expect(m.signatures).toHaveLength(1);
  return { key: s.key, inputs: s.inputs.map(io), outputs: s.outputs.map(io) };
}

const f32 = (name: string, shape: number[]): Io => ({ name, type: 'FLOAT32', shape });

describe('signatures (DESIGN.md: names, order, shapes, dtypes)', () => {
  it('dynamic spatial dimensions by default', () => {
    expect(signature(convert('clip'))).toEqual({ key: 'encode', inputs: [{ name: 'args_0', type: 'INT32', shape: [1, 77] }], outputs: [f32('output_0', [1, 77, 32])] });
    expect(signature(convert('diffusion'))).toEqual({
      key: 'diffusion',
      // Dynamic batch (default shape 2: convert-dynamic-batch.test.ts).
      inputs: [f32('args_0', [-1, 4, -1, -1]), f32('args_1', [-1, 77, 32]), f32('args_2', [-1, 32])],
      outputs: [f32('output_0', [-1, 4, -1, -1])],
    });
    expect(signature(convert('decoder'))).toEqual({ key: 'decode', inputs: [f32('args_0', [1, 4, -1, -1])], outputs: [f32('output_0', [1, 3, -1, -1])] });
    expect(signature(convert('encoder'))).toEqual({
      key: 'encode',
      inputs: [f32('args_0', [1, 3, -1, -1]), f32('args_1', [1, 4, -1, -1])],
      outputs: [f32('output_0', [1, 4, -1, -1])],
    });
  });

  it('--height/--width pin them (latents at 1/8)', () => {
    const size: [number, number] = [128, 192];
    expect(signature(convert('diffusion', 'fp32', 'cpu', size)).inputs[0]!.shape).toEqual([-1, 4, 16, 24]);
    expect(signature(convert('diffusion', 'fp32', 'cpu', size)).outputs[0]!.shape).toEqual([-1, 4, 16, 24]);
    expect(signature(convert('decoder', 'fp32', 'cpu', size)).outputs[0]!.shape).toEqual([1, 3, 128, 192]);
    const enc = signature(convert('encoder', 'fp32', 'cpu', size));
    expect(enc.inputs.map((i) => i.shape)).toEqual([[1, 3, 128, 192], [1, 4, 16, 24]]);
    // No run-time shape computation is left when every size is known.
    const ops = new Set(convert('diffusion', 'fp32', 'cpu', size).model.subgraphs[0]!.operators.map((o) => o.opName));
    expect(ops.has('SHAPE')).toBe(false);
  });
});

const CPU_OPS = new Set([
  'CONV_2D', 'FULLY_CONNECTED', 'BATCH_MATMUL', 'SOFTMAX', 'ADD', 'MUL', 'SUB', 'MEAN', 'RSQRT', 'RESHAPE', 'TRANSPOSE',
  'CONCATENATION', 'GELU', 'LOGISTIC', 'RESIZE_NEAREST_NEIGHBOR', 'GATHER', 'PAD', 'STRIDED_SLICE', 'SHAPE', 'EXP',
  'MAXIMUM', 'MINIMUM', 'DEQUANTIZE',
]);

describe('operators', () => {
  it('--target cpu: one subgraph of builtin ops; every CONV_2D has a bias', () => {
    for (const component of ['clip', 'diffusion', 'decoder', 'encoder'] as const) {
      const m = convert(component).model;
      expect(m.subgraphs, component).toHaveLength(1);
      for (const op of m.subgraphs[0]!.operators) {
        expect(CPU_OPS.has(op.opName), `${component}: ${op.opName}`).toBe(true);
        if (op.opName === 'CONV_2D') expect(op.inputs[2]).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('--target gpu: group norms and attentions are odml composites with decomposition subgraphs', () => {
    const m = convert('diffusion', 'fp32', 'gpu', [64, 64]).model;
    const composites = m.subgraphs[0]!.operators.filter((o) => o.opName === 'STABLEHLO_COMPOSITE');
    const byName = (n: string) => composites.filter((o) => o.options!.name === n);
    // tiny-a's UNet: 22 ResBlocks (2 GroupNorms each), 16 SpatialTransformers (1 GroupNorm,
    // 2 attentions each: levels 0-2 and the middle), and out.0.
    const resBlocks = 2 * 4 + 2 + 3 * 4; // input, middle, output blocks
    const transformers = 2 * 3 + 1 + 3 * 3;
    expect(byName('odml.group_norm')).toHaveLength(2 * resBlocks + transformers + 1);
    expect(byName('odml.scaled_dot_product_attention')).toHaveLength(2 * transformers);
    for (const op of composites) {
      const sub = m.subgraphs[op.options!.decompositionSubgraphIndex as number]!;
      expect(sub.inputs).toHaveLength(op.inputs.length);
      expect(sub.operators.every((o) => CPU_OPS.has(o.opName))).toBe(true);
    }
    const attrs = (op: (typeof composites)[number]) => toObject((op.options!.compositeAttributes as Uint8Array).slice().buffer);
    expect(attrs(byName('odml.group_norm')[0]!)).toEqual({ num_groups: 32, epsilon: Math.fround(1e-5), reduction_axes: [3], channel_axis: 3 });
    // Transformer norms use eps 1e-6; heads of 16 channels at level 0: scale 1/4.
    expect(byName('odml.group_norm').some((op) => attrs(op).epsilon === Math.fround(1e-6))).toBe(true);
    expect(attrs(byName('odml.scaled_dot_product_attention')[0]!)).toEqual({ scale: 0.25 });
  });
});

describe('weights', () => {
  const conv = 'model.diffusion_model.input_blocks.1.0.in_layers.2.weight'; // [32, 32, 3, 3]
  const tensorNamed = (file: TfliteFile, name: string) => {
    const tensors = file.model.subgraphs[0]!.tensors;
    const index = tensors.findIndex((t) => t.name === name);
    expect(index, name).toBeGreaterThanOrEqual(0);
    return { tensor: tensors[index]!, bytes: file.constantBytes(0, index)! };
  };
  const original = weights.get('diffusion')!.read(conv);
  /** PyTorch OIHW index of the OHWI element at o, y, x, i. */
  const oihw = (o: number, y: number, x: number, i: number) => original[((o * 32 + i) * 3 + y) * 3 + x]!;

  it('fp32: conv filters transposed from OIHW to OHWI', () => {
    const { tensor, bytes } = tensorNamed(convert('diffusion'), conv);
    expect([tensor.type, tensor.shape]).toEqual(['FLOAT32', [32, 3, 3, 32]]);
    const w = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    for (const [o, y, x, i] of [[0, 0, 0, 0], [5, 1, 2, 7], [31, 2, 2, 31], [17, 0, 1, 30]] as const) {
      expect(w[((o * 3 + y) * 3 + x) * 32 + i]).toBe(oihw(o, y, x, i));
    }
  });

  it('fp16: every float constant is FLOAT16 and goes through DEQUANTIZE', () => {
    const file = convert('diffusion', 'fp16');
    const sg = file.model.subgraphs[0]!;
    const { tensor, bytes } = tensorNamed(file, conv);
    expect(tensor.type).toBe('FLOAT16');
    const w = f16ArrayToF32(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2));
    expect(w[((5 * 3 + 1) * 3 + 2) * 32 + 7]).toBe(oihw(5, 1, 2, 7)); // tiny-a's weights are float16-exact
    const dequantized = new Set(sg.operators.filter((o) => o.opName === 'DEQUANTIZE').map((o) => o.inputs[0]));
    sg.tensors.forEach((t, i) => {
      if (t.buffer > 0 && t.name.startsWith('model.diffusion_model.')) {
        expect(t.type, t.name).toBe('FLOAT16');
        expect(dequantized.has(i), t.name).toBe(true);
      }
    });
  });

  it('int8: conv/linear weights symmetric per output channel (dimension 0); biases and norms FLOAT32', () => {
    const file = convert('diffusion', 'int8');
    const { tensor, bytes } = tensorNamed(file, conv);
    expect(tensor.type).toBe('INT8');
    expect(tensor.quantization!.quantizedDimension).toBe(0);
    expect(tensor.quantization!.scale).toHaveLength(32);
    expect(tensor.quantization!.zeroPoint).toEqual(new Array(32).fill(0));
    const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let o = 0; o < 32; o++) {
      const scale = tensor.quantization!.scale[o]!;
      let max = 0;
      let qmax = 0;
      for (let k = 0; k < 9 * 32; k++) {
        const [y, x, i] = [Math.floor(k / 96), Math.floor(k / 32) % 3, k % 32];
        const v = q[o * 288 + k]!;
        expect(Math.abs(v * scale - oihw(o, y, x, i))).toBeLessThanOrEqual(scale / 2 + 1e-9);
        max = Math.max(max, Math.abs(oihw(o, y, x, i)));
        qmax = Math.max(qmax, Math.abs(v));
      }
      expect(qmax).toBe(127); // the largest weight of each channel uses the full range
      expect(scale).toBeCloseTo(max / 127, 7);
    }
    expect(tensorNamed(file, 'model.diffusion_model.input_blocks.1.0.in_layers.2.bias').tensor.type).toBe('FLOAT32');
    expect(tensorNamed(file, 'model.diffusion_model.input_blocks.1.0.in_layers.0.weight').tensor.type).toBe('FLOAT32');
    const clip = convert('clip', 'int8');
    expect(tensorNamed(clip, 'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight').tensor.quantization!.scale).toHaveLength(49408);
  });

  it('split weights read only their rows (GEGLU value/gate halves, quant_conv mean/logvar)', () => {
    const file = convert('encoder');
    const mean = tensorNamed(file, 'first_stage_model.quant_conv.weight[0:4]');
    const logvar = tensorNamed(file, 'first_stage_model.quant_conv.weight[4:8]');
    const full = weights.get('encoder')!.read('first_stage_model.quant_conv.weight'); // [8, 8, 1, 1]
    const asF32 = (b: Uint8Array) => Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
    expect(asF32(mean.bytes)).toEqual(Array.from(full.slice(0, 32)));
    expect(asF32(logvar.bytes)).toEqual(Array.from(full.slice(32)));
  });
});
