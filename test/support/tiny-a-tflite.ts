/**
 * tiny-a (test/fixtures/tiny-a: random weights in SD v1.5's layout)
 * converted by our converter, for tests that run the pipeline on real
 * .tflite files.
 */
import { join } from 'node:path';
import { openCheckpoint } from '../../src/models/checkpoint/checkpoint.js';
import { COMPONENTS, type ComponentName } from '../../src/models/checkpoint/component-weights.js';
import { loadModelConfig } from '../../src/models/config.js';
import { checkComponents, writeComponent } from '../../src/models/convert.js';

const TINY_A = join(import.meta.dirname, '..', 'fixtures', 'tiny-a');

/**
 * Writes `<component>.tflite` into `folder` for each component, with the
 * default conversion (fp32, cpu target, dynamic spatial sizes).
 */
export function writeTinyATflite(folder: string, components: readonly ComponentName[] = COMPONENTS): void {
  const config = loadModelConfig(join(TINY_A, 'model-config.json'));
  const checkpoint = openCheckpoint(join(TINY_A, 'tiny-a.safetensors'), config);
  try {
    const weights = checkComponents(checkpoint, COMPONENTS, config);
    for (const c of components) writeComponent(c, weights.get(c)!, join(folder, `${c}.tflite`), { config, precision: 'fp32', target: 'cpu' });
  } finally {
    checkpoint.close();
  }
}
