/**
 * SHAPE with ShapeOptions { out_type: INT32 }.
 *
 * TFLite's SHAPE kernel fails ("Unknown shape output data type") when the
 * options table is absent, and the writer's typed options (src/tflite/
 * options.ts) do not list ShapeOptions yet, so this adds the operator with
 * the table spelled out here (table and field ids as in the upstream
 * schema: BuiltinOptions.ShapeOptions = 55, field 0 out_type). Once
 * options.ts knows SHAPE, this becomes `sg.addOperator('SHAPE', ...)`.
 */
import { BuiltinOptions } from '../../tflite/schema/tflite/builtin-options.js';
import { builtinOpCode } from '../../tflite/types.js';
import type { PlannedOperator, SubgraphBuilder, TfliteModelBuilder } from '../../tflite/writer.js';

const SHAPE_OPTIONS = {
  table: 'ShapeOptions',
  union: 'builtin_options',
  unionType: BuiltinOptions.ShapeOptions,
  fields: [['outType', 'tensorType', 'FLOAT32']],
} as const;

export function addShapeOperator(model: TfliteModelBuilder, sg: SubgraphBuilder, input: number, output: number): void {
  const op: PlannedOperator = {
    opcode: model.opcodeIndex({ builtinCode: builtinOpCode('SHAPE'), version: 1 }),
    inputs: [input],
    outputs: [output],
    optionsTable: SHAPE_OPTIONS as unknown as PlannedOperator['optionsTable'],
    options: { outType: 'INT32' },
  };
  sg.operators.push(op);
}
