// Entry point of the WebAssembly kernels module (built by ../build.mjs).
// Kernels take byte offsets into the shared memory that the TypeScript side
// allocates; they never allocate themselves.
export { simdPeak, simdPeakParallel } from './peak';
export { gemm } from './gemm';
export { attention, attentionScratchBytes } from './attention';
export { groupNormStats, groupNormReduce, groupNormApply, layerNorm } from './norms';
export { softmax } from './softmax';
export { binary, unary, geglu } from './elementwise';
export { winogradConv3x3, winogradScratchBytes } from './winograd';
export { winogradPackFilter, winogradPackScratchBytes } from './winograd-pack';
export { quantizeRowsInt8, gemmInt8 } from './gemm-int8';
export { packGemmInt8Panels } from './gemm-int8-pack';
export { convImplicitGemm } from './conv';
export { packGemmPanels } from './gemm-pack';
