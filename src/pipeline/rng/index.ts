export { NumpyLegacyRandom } from './numpy-legacy-random.js';
export { randomSeed } from './random-seed.js';
