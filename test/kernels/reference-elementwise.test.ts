// Activation, elementwise, reduction and transpose references against the PyTorch goldens.
import { describe, expect, it } from 'vitest';
import {
  binary,
  erf,
  gelu,
  mean,
  quickGelu,
  silu,
  sum,
  transpose,
  type BinaryOp,
} from '../../src/kernels/reference/index.js';
import { expectClose, goldenCases } from '../fixtures/ops/golden.js';

describe('erf', () => {
  it('matches published values to float64 precision', () => {
    // Abramowitz & Stegun table 7.1 / high-precision references.
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [5.9, 0.9999999999999999],
    ];
    for (const [x, want] of table) {
      expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(4e-16);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(6)).toBe(1);
    expect(erf(-40)).toBe(-1);
    expect(erf(Infinity)).toBe(1);
    expect(erf(NaN)).toBeNaN();
  });
});

describe('activation references vs PyTorch', () => {
  for (const c of goldenCases('gelu')) {
    it(`${c.name} (approximate ${c.params.approximate})`, () => {
      expectClose(gelu(c.inputs.x!, c.params.approximate), c.outputs.y!);
    });
  }
  for (const [op, kernel] of [['silu', silu], ['quick_gelu', quickGelu]] as const) {
    for (const c of goldenCases(op)) it(c.name, () => expectClose(kernel(c.inputs.x!), c.outputs.y!));
  }

  it('exact and tanh GELU differ on the golden inputs (so each golden checks its own formula)', () => {
    const [exact] = goldenCases('gelu').filter((c) => !c.params.approximate);
    const x = exact!.inputs.x!;
    const diff = gelu(x, true).data.reduce((m, v, i) => Math.max(m, Math.abs(v - gelu(x, false).data[i]!)), 0);
    expect(diff).toBeGreaterThan(1e-4);
  });
});

describe('broadcasting binary references vs PyTorch', () => {
  const ops: Record<string, BinaryOp> = {
    add: 'ADD',
    sub: 'SUB',
    mul: 'MUL',
    div: 'DIV',
    squared_difference: 'SQUARED_DIFFERENCE',
  };
  for (const [name, op] of Object.entries(ops)) {
    for (const c of goldenCases(name)) {
      it(`${c.name} ([${c.inputs.a!.shape}] ${op} [${c.inputs.b!.shape}])`, () => {
        expectClose(binary(op, c.inputs.a!, c.inputs.b!), c.outputs.y!);
      });
    }
  }
});

describe('reduction references vs PyTorch', () => {
  for (const [op, kernel] of [['mean', mean], ['sum', sum]] as const) {
    for (const c of goldenCases(op)) {
      it(`${c.name} (axes [${c.params.axes}], keep_dims ${c.params.keep_dims})`, () => {
        expectClose(kernel(c.inputs.x!, c.params.axes, c.params.keep_dims), c.outputs.y!);
      });
    }
  }
});

describe('transpose reference vs PyTorch permute', () => {
  for (const c of goldenCases('transpose')) {
    it(`${c.name} (perm [${c.params.perm}])`, () => {
      expectClose(transpose(c.inputs.x!, c.params.perm), c.outputs.y!, 0);
    });
  }
});
