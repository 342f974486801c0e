import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';

/**
 * The folder of the CLIP vocabulary shipped with the package
 * (assets/clip-tokenizer/: vocab.json and merges.txt, the same files as
 * SD v1.5's tokenizer/ folder). The default wherever a tokenizer folder is
 * optional.
 */
export function bundledTokenizerDir(): string {
  return join(packageRoot(), 'assets', 'clip-tokenizer');
}
