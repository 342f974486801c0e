// Linear algebra, normalisation and attention references against the PyTorch goldens.
import { describe, expect, it } from 'vitest';
import {
  attention,
  batchMatmul,
  fullyConnected,
  geglu,
  groupNorm,
  layerNorm,
  softmax,
} from '../../src/kernels/reference/index.js';
import { expectClose, goldenCases, nchwToNhwc } from '../fixtures/ops/golden.js';

describe('fullyConnected reference vs PyTorch linear', () => {
  for (const c of goldenCases('linear')) {
    it(c.name, () => {
      const { x, weight } = c.inputs as Required<typeof c.inputs>;
      const bias = c.inputs.bias ?? null;
      const want = c.outputs.y!;
      // keep_num_dims keeps the batch dims; without it the rows are flattened.
      expectClose(fullyConnected(x, weight, bias, { keepNumDims: true }), want);
      const rows = want.data.length / weight.shape[0]!;
      expectClose(fullyConnected(x, weight, bias), { data: want.data, shape: [rows, weight.shape[0]!] });
    });
  }
});

describe('batchMatmul reference vs PyTorch matmul', () => {
  for (const c of goldenCases('batch_matmul')) {
    it(`${c.name} (adj_x ${c.params.adj_x}, adj_y ${c.params.adj_y})`, () => {
      expectClose(batchMatmul(c.inputs.a!, c.inputs.b!, { adjX: c.params.adj_x, adjY: c.params.adj_y }), c.outputs.y!);
    });
  }
});

describe('softmax reference vs PyTorch', () => {
  for (const c of goldenCases('softmax')) {
    it(`${c.name} (beta ${c.params.beta})`, () => {
      expectClose(softmax(c.inputs.x!, c.params.beta), c.outputs.y!);
    });
  }
});

describe('groupNorm reference (NHWC) vs PyTorch group_norm (NCHW)', () => {
  for (const c of goldenCases('group_norm')) {
    it(`${c.name} (groups ${c.params.groups}, eps ${c.params.eps}, silu ${c.params.silu})`, () => {
      const got = groupNorm(nchwToNhwc(c.inputs.x!), c.inputs.gamma!, c.inputs.beta!, c.params as never);
      expectClose(got, nchwToNhwc(c.outputs.y!));
    });
  }
});

describe('layerNorm reference vs PyTorch', () => {
  for (const c of goldenCases('layer_norm')) {
    it(c.name, () => {
      expectClose(layerNorm(c.inputs.x!, c.inputs.gamma!, c.inputs.beta!, c.params.eps), c.outputs.y!);
    });
  }
});

describe('attention reference (BTNH) vs PyTorch', () => {
  const cases = goldenCases('attention');
  for (const c of cases) {
    it(`${c.name} (causal ${c.params.causal}, mask ${c.inputs.mask !== undefined})`, () => {
      const { q, k, v } = c.inputs as Required<typeof c.inputs>;
      const got = attention(q, k, v, { scale: c.params.scale, causal: c.params.causal, mask: c.inputs.mask ?? null });
      expectClose(got, c.outputs.y!);
    });
  }

  it('covers queries != keys, odd head dims, causal, masks and grouped key/value heads', () => {
    const shapes = cases.map((c) => ({ q: c.inputs.q!.shape, k: c.inputs.k!.shape }));
    expect(shapes.some(({ q, k }) => q[1] !== k[1])).toBe(true);
    expect(shapes.some(({ q }) => q[3] === 5)).toBe(true);
    expect(shapes.some(({ q, k }) => q[2] !== k[2])).toBe(true);
    expect(cases.some((c) => c.params.causal)).toBe(true);
  });
});

describe('geglu reference vs PyTorch (linear projection, then value * gelu(gate))', () => {
  for (const c of goldenCases('geglu')) {
    it(c.name, () => {
      const { x, weight, bias } = c.inputs as Required<typeof c.inputs>;
      const projected = fullyConnected(x, weight, bias, { keepNumDims: true });
      expectClose(geglu(projected), c.outputs.y!);
    });
  }
});
