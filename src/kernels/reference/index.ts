/**
 * Plain, obviously-correct reference kernels: the yardstick the fast
 * WebAssembly kernels and the interpreter's ops are tested against.
 *
 * Conventions (TFLite's, since the interpreter runs TFLite graphs):
 * - tensors are row-major Float32Array + shape (see tensor.ts); every kernel
 *   returns a fresh tensor and accumulates in float64;
 * - images are NHWC; CONV_2D filters OHWI [out, kh, kw, in];
 *   DEPTHWISE_CONV_2D filters [1, kh, kw, in * multiplier];
 *   FULLY_CONNECTED weights [out, in];
 * - attention tensors are BTNH ([batch, tokens, heads, head_dim]), the
 *   layout of the odml.scaled_dot_product_attention composite;
 * - group norm works on channels-last [N, ..., C].
 * Speed is not a goal: loops are written to be read.
 */
export * from './tensor.js';
export * from './padding.js';
export * from './erf.js';
export * from './activation.js';
export * from './conv2d.js';
export * from './fully-connected.js';
export * from './batch-matmul.js';
export * from './softmax.js';
export * from './group-norm.js';
export * from './layer-norm.js';
export * from './attention.js';
export * from './geglu.js';
export * from './resize.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './transpose.js';
export * from './pool.js';
