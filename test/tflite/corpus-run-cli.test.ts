// `tflite run` on corpus models: the right files with the stored LiteRT.js
// values, outputs.json as issue 4 specifies, name sanitising, --signature,
// --repeat, --profile, and one-line errors for bad arguments.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseRunArgs, runModel, sanitizeName, tfliteRun } from '../../src/cli/tflite-run.js';
import { UsageError } from '../../src/errors.js';
import { readNpy } from '../../src/io/npy.js';
import { relativeError } from '../support/f64-reference-ops.js';

const corpus = fileURLToPath(new URL('../fixtures/tflite-corpus/', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tflite-run-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('tflite run', () => {
  it('writes sanitised .npy outputs and outputs.json for a model without signatures (WebAssembly kernels)', async () => {
    const dir = path.join(tmp, 'mobilenet');
    const run = 'mobilenet_v1_0.25_224_float/default/litert/';
    const { report } = await runModel(parseRunArgs([
      `${corpus}models/mobilenet_v1_0.25_224_float.tflite`, '--input', `input=${corpus}${run}input_0_input.npy`, '--output-dir', dir, '--repeat', '2', '--threads', '2',
    ]));
    const file = 'MobilenetV1_Predictions_Reshape_1.npy';
    expect(fs.readdirSync(dir).sort()).toEqual([file, 'outputs.json']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'outputs.json'), 'utf8'));
    expect(json).toEqual(report);
    expect(json.outputs).toEqual([{ name: 'MobilenetV1/Predictions/Reshape_1', dtype: 'float32', shape: [1, 1001], file }]);
    expect(json.invocation_ms).toHaveLength(2);
    expect(json.invocation_ms.every((ms: number) => ms > 0)).toBe(true);
    const got = readNpy(path.join(dir, file));
    const want = readNpy(`${corpus}${run}output_0_MobilenetV1_Predictions_Reshape_1.npy`);
    expect(got.shape).toEqual([1, 1001]);
    expect(relativeError(got.data as Float32Array, want.data as Float32Array)).toBeLessThan(1e-4);
  });

  it('picks a signature and prints a profile (reference kernels)', async () => {
    const dir = path.join(tmp, 'sub');
    const run = 'multi_signature_add_mul_sub/sub/litert/';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await tfliteRun([
        `${corpus}models/multi_signature_add_mul_sub.tflite`, '--signature', 'sub', '--kernels', 'reference',
        '--input', `a=${corpus}${run}input_1_a.npy`, '--input', `b=${corpus}${run}input_0_b.npy`, '--output-dir', dir, '--profile',
      ]);
      const printed = out.mock.calls.map((c) => String(c[0])).join('');
      expect(printed).toMatch(/time per op type[\s\S]*SUB\s+1\s/);
      expect(printed).toMatch(/slowest operators[\s\S]*SUB\s+\[10, 10\]/);
      expect(printed).toMatch(/wrote 1 output\(s\) and outputs.json/);
    } finally {
      out.mockRestore();
    }
    expect(readNpy(path.join(dir, 'output.npy')).data).toEqual(readNpy(`${corpus}${run}output_0_output.npy`).data);
  });

  it('sanitises names', () => {
    expect(sanitizeName('StatefulPartitionedCall:0')).toBe('StatefulPartitionedCall_0');
    expect(sanitizeName('a/b c.npy-x')).toBe('a_b_c.npy-x');
    expect(sanitizeName('..')).toBe('_..');
  });

  it('reports bad arguments as usage errors', async () => {
    const model = `${corpus}models/tfjs_add4.tflite`;
    const inputs = ['--input', `input_1=${corpus}tfjs_add4/default/litert/input_0_input_1.npy`];
    expect(() => parseRunArgs([model, '--input', 'x', '--output-dir', tmp])).toThrow(/--input takes NAME=file.npy/);
    expect(() => parseRunArgs([model])).toThrow(/--output-dir DIR is required/);
    expect(() => parseRunArgs([model, '--output-dir', tmp, '--repeat', '0'])).toThrow(/--repeat must be a positive integer/);
    expect(() => parseRunArgs([model, '--output-dir', tmp, '--kernels', 'fast'])).toThrow(/--kernels must be wasm or reference/);
    const ref = ['--kernels', 'reference', '--output-dir', tmp];
    await expect(runModel(parseRunArgs([model, ...inputs, ...ref]))).rejects.toThrow(/missing --input for input_2 \(inputs: input_1, input_2\)/);
    await expect(runModel(parseRunArgs([model, ...inputs, '--input', 'zzz=a.npy', ...ref]))).rejects.toThrow(UsageError);
    await expect(runModel(parseRunArgs([model, '--signature', 'nope', ...ref]))).rejects.toThrow(/no signature 'nope'/);
  });
});
