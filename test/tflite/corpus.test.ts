import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { modelInfo } from '../../src/tflite/info.js';
import { TfliteFile } from '../../src/tflite/reader.js';

// Files made by Google's converters, with what their manifest (written
// with Google's runtimes) says about each.
const CORPUS = 'test/fixtures/tflite-corpus';

interface ManifestTensor { index: number; name: string; dtype: string; shape: number[]; shape_signature?: number[] }
interface ManifestModel {
  id: string;
  file: string;
  ops: Record<string, number>;
  operators: number;
  constant_tensor_types: Record<string, number>;
  quantized_constant_tensors: number;
  subgraphs: number;
  model_inputs: ManifestTensor[];
  model_outputs: ManifestTensor[];
  signatures: { key: string; subgraph_index: number; inputs: string[]; outputs: string[] }[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as { models: ManifestModel[] };

describe('Google-made corpus', () => {
  test('manifest covers every model file', () => {
    const listed = manifest.models.map((m) => path.basename(m.file)).sort();
    expect(fs.readdirSync(path.join(CORPUS, 'models')).sort()).toEqual(listed);
  });

  test.each(manifest.models.map((m) => [m.id, m] as const))('%s parses and matches the manifest', (_id, m) => {
    const file = TfliteFile.open(path.join(CORPUS, m.file));
    try {
      const info = modelInfo(file);
      expect(info.op_counts).toEqual(m.ops);
      expect(info.operators).toBe(m.operators);
      expect(info.subgraphs.length).toBe(m.subgraphs);
      expect(info.constant_tensors).toEqual(m.constant_tensor_types);
      expect(info.quantized_constant_tensors).toBe(m.quantized_constant_tensors);

      const sg = file.model.subgraphs[0]!;
      const check = (indices: number[], expected: ManifestTensor[]) => {
        expect(indices).toEqual(expected.map((e) => e.index));
        expected.forEach((e, i) => {
          const t = sg.tensors[indices[i]!]!;
          expect(t.name).toBe(e.name);
          expect(t.type.toLowerCase()).toBe(e.dtype);
          expect(t.shape).toEqual(e.shape);
          // The manifest lists shape_signature only where it differs from shape.
          expect(t.shapeSignature ?? t.shape).toEqual(e.shape_signature ?? e.shape);
        });
      };
      check(sg.inputs, m.model_inputs);
      check(sg.outputs, m.model_outputs);

      expect(info.signatures.map((s) => ({
        key: s.key,
        subgraph_index: s.subgraph_index,
        inputs: s.inputs.map((t) => t.name),
        outputs: s.outputs.map((t) => t.name),
      }))).toEqual(m.signatures);

      // Every constant can be read, and its size is what shape x type says (checked on open).
      file.model.subgraphs.forEach((g, s) => g.tensors.forEach((_, t) => file.constantBytes(s, t)));
    } finally {
      file.close();
    }
  });

  test('composite decomposition and options are decoded', () => {
    const file = TfliteFile.open(path.join(CORPUS, 'models/group_norm_composite_float.tflite'));
    const op = file.model.subgraphs[0]!.operators[0]!;
    expect(op.opName).toBe('STABLEHLO_COMPOSITE');
    expect(op.builtinCode).toBe(206);
    expect(op.options).toMatchObject({ name: 'odml.group_norm', decompositionSubgraphIndex: 1 });
    file.close();
  });
});
