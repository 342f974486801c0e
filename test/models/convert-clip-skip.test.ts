// convert --clip-skip N: the text encoder reads the hidden state N-1 layers
// before the last, through the final layer norm, against a plain PyTorch CLIP
// (scripts/make-clip-skip-fixture.py, itself checked against the original
// code's full-depth output).
import { afterAll, describe, expect, it } from 'vitest';
import { parseConvertArgs } from '../../src/cli/convert-args.js';
import { readNpyFloat32 } from '../../src/io/npy.js';
import { buildComponent, checkComponents } from '../../src/models/convert.js';
import { Interpreter } from '../../src/tflite/interpreter/interpreter.js';
import { relativeError } from '../support/f64-reference-ops.js';
import { golden, goldenInt32, openTinyA, rows, TINY_A_CKPT, TINY_A_CONFIG_FILE, tinyAConfig } from './convert-tiny-a.js';

const config = tinyAConfig();
const checkpoint = openTinyA();
afterAll(() => checkpoint.close());

function clipModel(clipSkip: number | undefined): Uint8Array {
  const weights = checkComponents(checkpoint, ['clip'], config);
  return buildComponent('clip', weights.get('clip')!, { config, precision: 'fp32', target: 'cpu', clipSkip }).model.toBuffer();
}

function clipOutput(clipSkip: number | undefined, row: number): Float32Array {
  const interp = Interpreter.load(clipModel(clipSkip));
  try {
    return interp.getSignatureRunner().invoke({ args_0: rows(goldenInt32('clip_tokens'), 77, row) }).output_0!.data as Float32Array;
  } finally {
    interp.close();
  }
}

describe('clip skip', () => {
  const skip2 = readNpyFloat32('test/fixtures/clip-skip/tiny-a-clip-skip-2.npy').data;

  it('skip 2 matches the PyTorch penultimate-layer output; skip 1 is the default full depth', () => {
    for (const row of [0, 1]) {
      expect(relativeError(clipOutput(2, row), rows(skip2, 77 * 32, row)), `row ${row}`).toBeLessThan(1e-5);
      // The golden differs from full depth, so the comparison above can fail.
      expect(relativeError(clipOutput(undefined, row), rows(skip2, 77 * 32, row))).toBeGreaterThan(0.1);
    }
    expect(Array.from(clipOutput(1, 0))).toEqual(Array.from(clipOutput(undefined, 0)));
    expect(relativeError(clipOutput(1, 0), rows(golden('clip_out'), 77 * 32, 0))).toBeLessThan(1e-5);
    // The file says so (npm run tflite -- info shows the description).
    expect(Buffer.from(clipModel(2)).includes('sd-tflite clip (fp32, cpu, clip skip 2)')).toBe(true);
    expect(Buffer.from(clipModel(1)).includes('sd-tflite clip (fp32, cpu)')).toBe(true);
  });

  it('--clip-skip takes 1 to the number of text encoder layers', () => {
    const args = (...more: string[]) => parseConvertArgs(['--ckpt', TINY_A_CKPT, '--out', '/tmp/x', '--model-config', TINY_A_CONFIG_FILE, ...more]);
    expect(args('--clip-skip', '2')!.options.clipSkip).toBe(2);
    expect(args()!.options.clipSkip).toBe(1);
    expect(() => args('--clip-skip', '3')).toThrow('--clip-skip must be a whole number from 1 to 2, got "3"');
    expect(() => args('--clip-skip', '0')).toThrow('--clip-skip must be a whole number from 1 to 2, got "0"');
  });
});
