import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ModelInfo } from '../../src/tflite/info.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { ROOT, runTs } from '../support/run-cli.js';

const MODELS = join(ROOT, 'test', 'fixtures', 'tflite-corpus', 'models');
const DIR = fs.mkdtempSync(join(os.tmpdir(), 'tflite-info-'));
afterAll(() => fs.rmSync(DIR, { recursive: true, force: true }));

// Runs the real CLI (TypeScript through vite-node, no build step needed).
const tflite = (...args: string[]) => runTs('src/cli/tflite.ts', args);

/** A small model of ours in the offset layout, with a dynamic input and an fp16 constant. */
function ownModel(): string {
  const m = new TfliteModelBuilder();
  const x = m.main.addInput('x', 'FLOAT32', [-1, 3]);
  const c = m.main.addConstant('c', 'FLOAT16', [3], new Uint8Array(6));
  const cf = m.main.addTensor('cf', 'FLOAT32', [3]);
  m.main.addOperator('DEQUANTIZE', [c], [cf]);
  const y = m.main.addTensor('y', 'FLOAT32', [-1, 3]);
  m.main.addOperator('MUL', [x, cf], [y]);
  m.main.markOutput(y);
  m.addSignature('scale', { args_0: x }, { output_0: y });
  const file = join(DIR, 'own.tflite');
  m.writeFile(file, { forceOffsetLayout: true });
  return file;
}

describe.concurrent('npm run tflite -- info', () => {
  test('--json prints one object with op counts over all subgraphs', async () => {
    const r = await tflite('info', join(MODELS, 'group_norm_composite_float.tflite'), '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(1);
    const info = JSON.parse(lines[0]!) as ModelInfo;
    expect(info.op_counts).toEqual({ STABLEHLO_COMPOSITE: 1, SUB: 1, RESHAPE: 3, MUL: 3, SUM: 1, ADD: 2, RSQRT: 1 });
    expect(info.buffer_layout).toBe('inline');
    expect(info.signatures).toEqual([{
      key: 'serving_default', subgraph_index: 0,
      inputs: [{ name: 'x', tensor: 0, dtype: 'FLOAT32', shape: [2, 4] }],
      outputs: [{ name: 'output_0', tensor: 3, dtype: 'FLOAT32', shape: [2, 4] }],
    }]);
    expect(info.subgraphs.map((s) => s.operators)).toEqual([1, 11]);
  });

  test('text report: signature with dynamic dims, custom op, constants by dtype, offset layout', async () => {
    const own = await tflite('info', ownModel());
    expect(own.status).toBe(0);
    expect(own.stdout).toContain('buffers: offset layout;');
    expect(own.stdout).toContain('  scale (subgraph 0)\n    in   args_0: FLOAT32 [-1, 3]  (tensor 0)\n    out  output_0: FLOAT32 [-1, 3]  (tensor 3)\n');
    expect(own.stdout).toMatch(/ {2}FLOAT16: 1 tensors, 6 B\n/);

    const selfie = await tflite('info', join(MODELS, 'selfie_segmentation_fp16.tflite'));
    expect(selfie.status).toBe(0);
    expect(selfie.stdout).toMatch(/\n {2}CUSTOM:Convolution2DTransposeBias +1\n/);
    expect(selfie.stdout).toMatch(/\n {2}DEQUANTIZE +110\n/);
  });

  test('a bad file is one error line naming it, exit 1; bad usage exits 2', async () => {
    const bad = join(DIR, 'bad.tflite');
    fs.writeFileSync(bad, fs.readFileSync(join(MODELS, 'tfjs_add4.tflite')).subarray(0, 100));
    const r = await tflite('info', bad);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+\n$`));

    const usage = await tflite('inf0');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('unknown command "inf0"');
  });
});
