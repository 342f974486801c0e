// Run in a fresh process by wasm-loader-variant.test.ts (V8 flags are
// process-wide): what a CLI's start-up leaves, as one JSON line.
import { chooseVariant, detectWasmFeatures, setUpKernels } from '../../src/kernels/wasm/loader.js';

const before = detectWasmFeatures().relaxedSimd;
setUpKernels();
console.log(JSON.stringify({ before, after: detectWasmFeatures().relaxedSimd, variant: chooseVariant() }));
