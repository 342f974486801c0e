// The interpreter against the PyTorch op goldens (test/fixtures/ops), with
// graphs written the way a converter writes them: NCHW at the boundary with
// TRANSPOSEs around NHWC ops, explicit padding as PAD + VALID, SiLU as
// LOGISTIC * x, GEGLU as FULLY_CONNECTED + SPLIT + GELU + MUL, group norm
// and attention as composites, fused builtin subgraphs or plain ops.
import { describe, expect, it } from 'vitest';
import { expectClose, goldenCases, permute, type GoldenCase } from '../fixtures/ops/golden.js';
import type { Tensor } from '../../src/kernels/reference/tensor.js';
import { Interpreter, type InterpreterOptions } from '../../src/tflite/interpreter/interpreter.js';
import { TfliteModelBuilder, type SubgraphBuilder } from '../../src/tflite/writer.js';
import * as flexbuffers from 'flatbuffers/js/flexbuffers.js';
import { addAttention, addGroupNorm, addLayerNorm } from './interpreter-graphs.js';
import { bytesOf } from './ops-harness.js';

/** Builds a graph whose inputs are the case's tensors named in `fed` (others become constants by the builder) and runs it. */
function run(c: GoldenCase, fed: string[], build: (g: SubgraphBuilder, ins: Record<string, number>, m: TfliteModelBuilder) => number, options: InterpreterOptions = {}): Tensor {
  const m = new TfliteModelBuilder();
  const ins: Record<string, number> = {};
  for (const name of fed) ins[name] = m.main.addInput(name, 'FLOAT32', c.inputs[name]!.shape as number[]);
  const y = build(m.main, ins, m);
  m.main.markOutput(y);
  const runner = Interpreter.load(m.toBuffer(), options).getSignatureRunner();
  const out = runner.invoke(Object.fromEntries(fed.map((n) => [n, c.inputs[n]!.data])));
  const v = Object.values(out)[0]!;
  return { data: v.data as Float32Array, shape: v.shape };
}

let unique = 0;
const t = (g: SubgraphBuilder, shape: number[]) => g.addTensor(`t${unique++}`, 'FLOAT32', shape);
const k = (g: SubgraphBuilder, x: Tensor) => g.addConstant(`c${unique++}`, 'FLOAT32', x.shape as number[], bytesOf(x.data));
const ints = (g: SubgraphBuilder, ...v: number[]) => g.addConstant(`i${unique++}`, 'INT32', [v.length], bytesOf(Int32Array.from(v)));
const scalar = (g: SubgraphBuilder, v: number) => g.addConstant(`s${unique++}`, 'FLOAT32', [], bytesOf(Float32Array.of(v)));

function transposeOp(g: SubgraphBuilder, x: number, shape: number[], perm: number[]): [number, number[]] {
  const outShape = perm.map((p) => shape[p]!);
  const y = t(g, outShape);
  g.addOperator('TRANSPOSE', [x, ints(g, ...perm)], [y]);
  return [y, outShape];
}
const toNhwc = (g: SubgraphBuilder, x: number, s: number[]) => transposeOp(g, x, s, [0, 2, 3, 1]);
const toNchw = (g: SubgraphBuilder, x: number, s: number[]) => transposeOp(g, x, s, [0, 3, 1, 2])[0];

/** Explicit [top, bottom, left, right] padding as a PAD op (skipped when zero). */
function padded(g: SubgraphBuilder, x: number, s: number[], p: number[]): [number, number[]] {
  if (p.every((v) => v === 0)) return [x, s];
  const shape = [s[0]!, s[1]! + p[0]! + p[1]!, s[2]! + p[2]! + p[3]!, s[3]!];
  const y = t(g, shape);
  g.addOperator('PAD', [x, g.addConstant(`p${unique++}`, 'INT32', [4, 2], bytesOf(Int32Array.of(0, 0, p[0]!, p[1]!, p[2]!, p[3]!, 0, 0)))], [y]);
  return [y, shape];
}

describe('conv2d goldens: TRANSPOSE, PAD, CONV_2D / DEPTHWISE_CONV_2D VALID, TRANSPOSE', () => {
  it.each(goldenCases('conv2d').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['x'], (g, ins) => {
      const [xh, s] = toNhwc(g, ins.x!, c.inputs.x!.shape as number[]);
      const [xp] = padded(g, xh, s, c.params.padding);
      const w = c.inputs.weight!;
      const depthwise = c.params.groups > 1;
      const filter = k(g, depthwise ? permute(w, [1, 2, 3, 0]) : permute(w, [0, 2, 3, 1]));
      const bias = c.inputs.bias ? k(g, c.inputs.bias) : -1;
      const out = t(g, [1]);
      const [sh, sw] = c.params.stride;
      const [dh, dw] = c.params.dilation;
      const opts = { padding: 'VALID' as const, strideH: sh, strideW: sw, dilationHFactor: dh, dilationWFactor: dw };
      if (depthwise) g.addOperator('DEPTHWISE_CONV_2D', [xp, filter, bias], [out], { ...opts, depthMultiplier: w.shape[0]! / c.params.groups });
      else g.addOperator('CONV_2D', [xp, filter, bias], [out], opts);
      const outShape = c.outputs.y!.shape as number[];
      return toNchw(g, out, [outShape[0]!, outShape[2]!, outShape[3]!, outShape[1]!]);
    });
    expectClose(y, c.outputs.y!);
  });
});

describe('group_norm goldens (NHWC inside, SiLU as x * LOGISTIC(x))', () => {
  const silu = (g: SubgraphBuilder, x: number, s: number[]) => {
    const sig = t(g, s);
    g.addOperator('LOGISTIC', [x], [sig]);
    const y = t(g, s);
    g.addOperator('MUL', [x, sig], [y]);
    return y;
  };
  const cases = goldenCases('group_norm');
  const variants = [
    ['composite, fast path', true, {}],
    ['composite, decomposition', true, { compositeFastPaths: false, fusion: false }],
    ['builtin ops, fused', false, {}],
    ['builtin ops, unfused', false, { fusion: false }],
  ] as const;
  it.each(cases.flatMap((c) => variants.map(([label, composite, options]) => [`${c.name}: ${label}`, c, composite, options] as const)))('%s', (_, c, composite, options) => {
    const y = run(c, ['x'], (g, ins, m) => {
      const [xh, s] = toNhwc(g, ins.x!, c.inputs.x!.shape as number[]);
      const shape = s as [number, number, number, number];
      const gamma = k(g, c.inputs.gamma!);
      const beta = k(g, c.inputs.beta!);
      let n: number;
      if (composite) {
        const dec = m.addSubgraph('gn');
        const [dx, dg, db] = [dec.addInput('x', 'FLOAT32', s), dec.addInput('g', 'FLOAT32', [s[3]!]), dec.addInput('b', 'FLOAT32', [s[3]!])];
        dec.markOutput(addGroupNorm(dec, dx, dg, db, shape, c.params.groups, c.params.eps));
        n = t(g, s);
        g.addOperator('STABLEHLO_COMPOSITE', [xh, gamma, beta], [n], {
          name: 'odml.group_norm', decompositionSubgraphIndex: dec.index,
          compositeAttributes: flexbuffers.encode({ num_groups: c.params.groups, eps: c.params.eps, channel_axis: 3, reduction_axes: 3 }),
        });
      } else n = addGroupNorm(g, xh, gamma, beta, shape, c.params.groups, c.params.eps);
      return toNchw(g, c.params.silu ? silu(g, n, s) : n, s);
    }, options);
    expectClose(y, c.outputs.y!);
  });
});

describe('layer_norm goldens', () => {
  it.each(goldenCases('layer_norm').flatMap((c) => [true, false].map((fusion) => [`${c.name} fusion ${fusion}`, c, fusion] as const)))('%s', (_, c, fusion) => {
    const y = run(c, ['x'], (g, ins) => addLayerNorm(g, ins.x!, k(g, c.inputs.gamma!), k(g, c.inputs.beta!), c.inputs.x!.shape as number[], c.params.eps), { fusion });
    expectClose(y, c.outputs.y!);
  });
});

describe('attention goldens', () => {
  it.each(goldenCases('attention').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const [b, tq, n, h] = c.inputs.q!.shape as number[];
    const [, s, kn] = c.inputs.k!.shape as number[];
    const hasMask = 'mask' in c.inputs;
    const fed = hasMask ? ['q', 'k', 'v', 'mask'] : ['q', 'k', 'v'];
    // A mask-less composite is causal; non-causal without a mask is written as builtin ops (fused).
    const asComposite = hasMask || c.params.causal;
    const y = run(c, fed, (g, ins, m) => {
      if (!asComposite) return addAttention(g, ins.q!, ins.k!, ins.v!, undefined, { b: b!, t: tq!, s: s!, n: n!, h: h! }, c.params.scale);
      const out = t(g, [b!, tq!, n!, h!]);
      const dec = m.addSubgraph('sdpa'); // decomposition not needed: the fast path handles these (GQA included)
      const dins = fed.map((name) => dec.addInput(name, 'FLOAT32', c.inputs[name]!.shape as number[]));
      const dout = dec.addTensor('o', 'FLOAT32', [b!, tq!, n!, h!]);
      dec.addOperator('ADD', [dins[0]!, dins[0]!], [dout]);
      dec.markOutput(dout);
      g.addOperator('STABLEHLO_COMPOSITE', fed.map((f) => ins[f]!), [out], {
        name: 'odml.scaled_dot_product_attention', decompositionSubgraphIndex: dec.index, compositeAttributes: flexbuffers.encode({ scale: c.params.scale }),
      });
      return out;
    });
    expect(kn).toBeGreaterThan(0);
    expectClose(y, c.outputs.y!);
  });
});

describe('activation, linear and matmul goldens', () => {
  it.each(goldenCases('gelu').map((c) => [c.name, c] as const))('%s: GELU', (_, c) => {
    const y = run(c, ['x'], (g, ins) => {
      const out = t(g, c.inputs.x!.shape as number[]);
      g.addOperator('GELU', [ins.x!], [out], { approximate: c.params.approximate });
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each([['silu', 1], ['quick_gelu', 1.702]] as const)('%s: x * LOGISTIC(a x)', (op, a) => {
    const c = goldenCases(op)[0]!;
    const shape = c.inputs.x!.shape as number[];
    const y = run(c, ['x'], (g, ins) => {
      let z = ins.x!;
      if (a !== 1) {
        z = t(g, shape);
        g.addOperator('MUL', [ins.x!, scalar(g, a)], [z]);
      }
      const sig = t(g, shape);
      g.addOperator('LOGISTIC', [z], [sig]);
      const out = t(g, shape);
      g.addOperator('MUL', [ins.x!, sig], [out]);
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it('geglu: FULLY_CONNECTED, SPLIT, GELU, MUL', () => {
    const c = goldenCases('geglu')[0]!;
    const [b, tk] = c.inputs.x!.shape as number[];
    const inner = c.params.inner as number;
    const y = run(c, ['x'], (g, ins) => {
      const proj = t(g, [b!, tk!, 2 * inner]);
      g.addOperator('FULLY_CONNECTED', [ins.x!, k(g, c.inputs.weight!), k(g, c.inputs.bias!)], [proj], { keepNumDims: true });
      const [value, gate] = [t(g, [b!, tk!, inner]), t(g, [b!, tk!, inner])];
      g.addOperator('SPLIT', [ints(g, -1), proj], [value, gate], { numSplits: 2 });
      const act = t(g, [b!, tk!, inner]);
      g.addOperator('GELU', [gate], [act], { approximate: false });
      const out = t(g, [b!, tk!, inner]);
      g.addOperator('MUL', [value, act], [out]);
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each(goldenCases('linear').map((c) => [c.name, c] as const))('%s: FULLY_CONNECTED keep_num_dims', (_, c) => {
    const y = run(c, ['x'], (g, ins) => {
      const out = t(g, [1]);
      g.addOperator('FULLY_CONNECTED', [ins.x!, k(g, c.inputs.weight!), c.inputs.bias ? k(g, c.inputs.bias) : -1], [out], { keepNumDims: true });
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each(goldenCases('batch_matmul').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['a', 'b'], (g, ins) => {
      const out = t(g, [1]);
      g.addOperator('BATCH_MATMUL', [ins.a!, ins.b!], [out], { adjX: c.params.adj_x, adjY: c.params.adj_y });
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each(goldenCases('softmax').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['x'], (g, ins) => {
      const out = t(g, c.inputs.x!.shape as number[]);
      g.addOperator('SOFTMAX', [ins.x!], [out], { beta: c.params.beta });
      return out;
    });
    expectClose(y, c.outputs.y!);
  });
});

describe('spatial goldens (NCHW boundary)', () => {
  it.each([...goldenCases('resize_nearest'), ...goldenCases('resize_bilinear')].map((c) => [c.name, c] as const))('%s', (_, c) => {
    const op = c.op === 'resize_bilinear' ? 'RESIZE_BILINEAR' : 'RESIZE_NEAREST_NEIGHBOR';
    const y = run(c, ['x'], (g, ins) => {
      const [xh, s] = toNhwc(g, ins.x!, c.inputs.x!.shape as number[]);
      const out = t(g, [1]);
      g.addOperator(op, [xh, ints(g, ...c.params.size)], [out], { alignCorners: c.params.align_corners, halfPixelCenters: c.params.half_pixel_centers });
      return toNchw(g, out, [s[0]!, c.params.size[0], c.params.size[1], s[3]!]);
    });
    expectClose(y, c.outputs.y!);
  });

  it.each([...goldenCases('avg_pool'), ...goldenCases('max_pool')].map((c) => [c.name, c] as const))('%s', (_, c) => {
    const op = c.op === 'avg_pool' ? 'AVERAGE_POOL_2D' : 'MAX_POOL_2D';
    // Symmetric 1-pixel padding of these cases is what TFLite's SAME gives for them.
    const padding = c.params.padding.some((p: number) => p > 0) ? 'SAME' : 'VALID';
    const y = run(c, ['x'], (g, ins) => {
      const [xh] = toNhwc(g, ins.x!, c.inputs.x!.shape as number[]);
      const out = t(g, [1]);
      g.addOperator(op, [xh], [out], { padding, filterHeight: c.params.filter[0], filterWidth: c.params.filter[1], strideH: c.params.stride[0], strideW: c.params.stride[1] });
      const o = c.outputs.y!.shape as number[];
      return toNchw(g, out, [o[0]!, o[2]!, o[3]!, o[1]!]);
    });
    expectClose(y, c.outputs.y!);
  });
});

describe('elementwise, reduction and transpose goldens', () => {
  const BINARY = { add: 'ADD', sub: 'SUB', mul: 'MUL', div: 'DIV', squared_difference: 'SQUARED_DIFFERENCE' } as const;
  it.each(Object.keys(BINARY).flatMap((op) => goldenCases(op)).map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['a', 'b'], (g, ins) => {
      const out = t(g, [1]);
      g.addOperator(BINARY[c.op as keyof typeof BINARY], [ins.a!, ins.b!], [out]);
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each([...goldenCases('mean'), ...goldenCases('sum')].map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['x'], (g, ins) => {
      const out = t(g, [1]);
      g.addOperator(c.op === 'mean' ? 'MEAN' : 'SUM', [ins.x!, ints(g, ...c.params.axes)], [out], { keepDims: c.params.keep_dims });
      return out;
    });
    expectClose(y, c.outputs.y!);
  });

  it.each(goldenCases('transpose').map((c) => [c.name, c] as const))('%s', (_, c) => {
    const y = run(c, ['x'], (g, ins) => transposeOp(g, ins.x!, c.inputs.x!.shape as number[], c.params.perm)[0]);
    expectClose(y, c.outputs.y!);
  });
});
