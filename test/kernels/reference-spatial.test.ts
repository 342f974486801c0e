// Convolution, pooling and resizing references against the PyTorch goldens
// (NCHW goldens transposed to the kernels' NHWC / OHWI layouts here).
import { describe, expect, it } from 'vitest';
import {
  averagePool2d,
  conv2d,
  depthwiseConv2d,
  maxPool2d,
  resizeBilinear,
  resizeNearest,
  windowAxis,
  type ExplicitPadding,
  type Padding,
  type Tensor,
} from '../../src/kernels/reference/index.js';
import { expectClose, goldenCases, nchwToNhwc, permute } from '../fixtures/ops/golden.js';

function explicit(padding: number[]): ExplicitPadding {
  const [top, bottom, left, right] = padding as [number, number, number, number];
  return { top, bottom, left, right };
}

/**
 * TFLite's own padding modes that reproduce the golden's explicit padding
 * (SAME where its split matches, VALID where there is none).
 */
function equivalentModes(x: Tensor, kernel: [number, number], stride: number[], dilation: number[], pad: number[]): Padding[] {
  const modes: Padding[] = [];
  const [, h, w] = x.shape as [number, number, number, number];
  const same = [
    windowAxis('SAME', h, kernel[0], stride[0]!, dilation[0]!),
    windowAxis('SAME', w, kernel[1], stride[1]!, dilation[1]!),
  ];
  if (same[0]!.before === pad[0] && same[0]!.after === pad[1] && same[1]!.before === pad[2] && same[1]!.after === pad[3]) {
    modes.push('SAME');
  }
  if (pad.every((p) => p === 0)) modes.push('VALID');
  return modes;
}

describe('conv2d reference vs PyTorch', () => {
  const cases = goldenCases('conv2d');
  const sameCases = new Set<string>();

  for (const c of cases) {
    it(c.name, () => {
      const { stride, dilation, padding, groups } = c.params;
      const x = nchwToNhwc(c.inputs.x!);
      const weight = c.inputs.weight!;
      const bias = c.inputs.bias ?? null;
      const [kh, kw] = weight.shape.slice(2) as [number, number];
      const want = nchwToNhwc(c.outputs.y!);
      const modes: Padding[] = [explicit(padding), ...equivalentModes(x, [kh, kw], stride, dilation, padding)];
      if (modes.includes('SAME')) sameCases.add(c.name);
      for (const mode of modes) {
        const options = { padding: mode, stride, dilation };
        // OIHW -> OHWI; for groups > 1 this is the grouped CONV_2D filter [out, kh, kw, in/groups].
        expectClose(conv2d(x, permute(weight, [0, 2, 3, 1]), bias, options), want);
        if (groups > 1 && groups === x.shape[3]) {
          // Depthwise: [out, 1, kh, kw] -> [1, kh, kw, out].
          expectClose(depthwiseConv2d(x, permute(weight, [1, 2, 3, 0]), bias, options), want);
        }
      }
    });
  }

  it('covers depthwise, dilation and the VAE asymmetric padding, which TFLite SAME reproduces', () => {
    const names = cases.map((c) => c.name);
    expect(names).toContain('conv2d_depthwise_3x3_mult2_s2');
    expect(names).toContain('conv2d_3x3_s1_d2');
    // Even input, stride 2, 3x3: SAME pads 0 before and 1 after, exactly F.pad(x, (0, 1, 0, 1)).
    expect(sameCases.has('conv2d_3x3_s2_asym')).toBe(true);
  });
});

describe('pooling references vs PyTorch', () => {
  for (const [op, kernel] of [['avg_pool', averagePool2d], ['max_pool', maxPool2d]] as const) {
    for (const c of goldenCases(op)) {
      it(c.name, () => {
        const { filter, stride, padding } = c.params;
        const x = nchwToNhwc(c.inputs.x!);
        const want = nchwToNhwc(c.outputs.y!);
        const modes: Padding[] = [explicit(padding), ...equivalentModes(x, filter, stride, [1, 1], padding)];
        expect(modes.length).toBeGreaterThan(1);
        for (const mode of modes) expectClose(kernel(x, { filter, stride, padding: mode }), want);
      });
    }
  }
});

describe('resize references vs PyTorch', () => {
  for (const [op, kernel] of [['resize_nearest', resizeNearest], ['resize_bilinear', resizeBilinear]] as const) {
    for (const c of goldenCases(op)) {
      it(`${c.name} (align_corners ${c.params.align_corners}, half_pixel_centers ${c.params.half_pixel_centers})`, () => {
        const got = kernel(nchwToNhwc(c.inputs.x!), c.params.size, {
          alignCorners: c.params.align_corners,
          halfPixelCenters: c.params.half_pixel_centers,
        });
        // Nearest copies values, so it must be exact.
        expectClose(got, nchwToNhwc(c.outputs.y!), op === 'resize_nearest' ? 0 : 1e-5);
      });
    }
  }
});
