/**
 * The functions exported by the kernels module (assembly/index.ts). Pointers
 * are byte offsets into the shared memory. Kernels that split their work
 * across threads take (thread, threads) as their last two arguments and do
 * the share of thread `thread` (0-based) out of `threads`.
 */
export interface KernelExports {
  /** 8 independent multiply-add chains over an L1 buffer; see assembly/peak.ts. */
  simdPeak(buf: number, bufferFloats: number, sweeps: number): number;
  /** simdPeak on every thread, thread t on the buffer at buf + t * bufferFloats * 4. */
  simdPeakParallel(buf: number, bufferFloats: number, sweeps: number, thread: number, threads: number): void;
  /**
   * C = clamp(A·B (+ bias), clampMin, clampMax) with packed B; see
   * assembly/gemm.ts. Strides in floats. Threads share the work through the
   * i32 at `counter`, which must be 0.
   */
  gemm(
    a: number, lda: number, b: number, bias: number, c: number, ldc: number,
    m: number, n: number, k: number, clampMin: number, clampMax: number,
    counter: number, thread: number, threads: number,
  ): void;
  /**
   * Hybrid int8 GEMM, step 1: quantizes `rows` float rows of x (row stride
   * ldx floats, k values) into q (row stride kp elements: 1 byte when
   * `bytes` is 1, the 'u7' layout, else 2) with a per-row f32 scale and i32
   * zero point at params; symmetric 1 for zero point 0; codes in
   * [qmin, qmax]. See assembly/gemm-int8.ts and ../gemm-int8.ts.
   */
  quantizeRowsInt8(
    x: number, ldx: number, rows: number, k: number, q: number, kp: number, params: number,
    bytes: number, symmetric: number, qmin: number, qmax: number,
    thread: number, threads: number,
  ): void;
  /**
   * Hybrid int8 GEMM, step 2: C[m, n] = clamp(dequantized q · w + bias) over
   * rows quantized by quantizeRowsInt8 (u7 1 for the 'u7' layout); w holds
   * the int8 weight panels (kp x 8 bytes each), cols per panel 8 f32 channel
   * scales, 8 i32 weight sums and 8 f32 biases. Threads share the work
   * through the i32 at `counter`, which must be 0.
   */
  gemmInt8(
    q: number, kp: number, params: number, w: number, cols: number, c: number, ldc: number,
    m: number, n: number, u7: number, clampMin: number, clampMax: number,
    counter: number, thread: number, threads: number,
  ): void;
  /**
   * Packs panels [first, last) of int8 weights W[N, K] (src: rows 8·first..)
   * for gemmInt8: kp x 8 bytes per panel at out ('u7' layout when u7 is 1,
   * else 'i16'), 96 bytes of column data per panel at cols (f32 scales, per
   * channel when perChannel is 1; i32 weight sums; f32 biases, 0 for none);
   * threads split the panels. See assembly/gemm-int8-pack.ts and ../gemm-int8-pack.ts.
   */
  packGemmInt8Panels(
    src: number, scales: number, perChannel: number, bias: number, k: number, n: number, kp: number, u7: number,
    out: number, cols: number, first: number, last: number, thread: number, threads: number,
  ): void;
  /** Fused attention with online softmax; see assembly/attention.ts and ../attention.ts. */
  attention(
    q: number, k: number, v: number, out: number,
    mask: number, maskB: number, maskN: number, maskT: number, maskS: number,
    batch: number, t: number, s: number, heads: number, kvHeads: number, d: number, dv: number,
    layout: number, keysTransposed: number, causal: number, scale: number,
    scratch: number, scratchStride: number,
    thread: number, threads: number,
  ): void;
  /** Per-thread scratch bytes of attention for S keys, head sizes d and dv. */
  attentionScratchBytes(s: number, d: number, dv: number): number;
  /** Group norm job 1: per-chunk partial sums; see assembly/norms.ts and ../norms.ts. */
  groupNormStats(x: number, batch: number, positions: number, c: number, partials: number, thread: number, threads: number): void;
  /** Group norm job 2: per-channel coefficients [mean, gamma/std, beta] from the partials. */
  groupNormReduce(
    x: number, gamma: number, beta: number, batch: number, positions: number, c: number, groups: number, eps: number,
    partials: number, coef: number, thread: number, threads: number,
  ): void;
  /** Group norm job 3: normalise (+ SiLU). */
  groupNormApply(x: number, out: number, batch: number, positions: number, c: number, silu: number, coef: number, thread: number, threads: number): void;
  /** Layer norm over rows of n floats; gamma/beta 0 for none. */
  layerNorm(x: number, out: number, gamma: number, beta: number, rows: number, n: number, eps: number, thread: number, threads: number): void;
  /** Softmax over rows of n floats with TFLite's beta. */
  softmax(x: number, out: number, rows: number, n: number, beta: number, thread: number, threads: number): void;
  /** Broadcasting binary op with fused activation; codes and offsets in ../elementwise.ts. */
  binary(
    op: number, act: number, a: number, b: number, out: number, rows: number, inner: number, sa: number, sb: number,
    aRow: number, bRow: number, offsets: number, thread: number, threads: number,
  ): void;
  /** Unary math op over n floats; codes in ../elementwise.ts. */
  unary(op: number, x: number, out: number, n: number, thread: number, threads: number): void;
  /** GEGLU over rows of 2·half floats. */
  geglu(x: number, out: number, rows: number, half: number, approximate: number, thread: number, threads: number): void;
  /** Bytes of per-thread scratch the Winograd 3x3 kernel needs for `blockTiles` tiles of `cin` channels. */
  winogradScratchBytes(cin: number, blockTiles: number): number;
  /**
   * Winograd F(4x4, 3x3) convolution, NHWC, stride 1, with the packed
   * transformed filter at u (output pixels outStride floats apart, so a
   * range of output channels can run on its own); see assembly/winograd.ts
   * and ../winograd.ts. Threads share tile blocks through the i32 at
   * `counter`, which must be 0.
   */
  winogradConv3x3(
    x: number, batch: number, inH: number, inW: number, cin: number,
    u: number, bias: number, out: number, outH: number, outW: number, cout: number, outStride: number,
    padTop: number, padLeft: number, clampMin: number, clampMax: number,
    blockTiles: number, chunkSubs: number, scratch: number, scratchStride: number,
    counter: number, thread: number, threads: number,
  ): void;
  /** Implicit-GEMM convolution over NHWC with packed OHWI panels at b; see assembly/conv.ts and ../conv-implicit-gemm.ts. */
  convImplicitGemm(
    x: number, batch: number, inH: number, inW: number, cin: number,
    b: number, bias: number, out: number, outH: number, outW: number, cout: number,
    kh: number, kw: number, strideH: number, strideW: number, dilH: number, dilW: number, padTop: number, padLeft: number,
    clampMin: number, clampMax: number, scratch: number,
    counter: number, thread: number, threads: number,
  ): void;
  /**
   * Packs panels [first, last) of GEMM weights at src (dtype 0 float32, 1
   * float16 bits, 2 int8 with f32 scales; layout 0 'kn', else 'nk') into the
   * micro-kernel's layout at out; threads split the panels. See
   * assembly/gemm-pack.ts and ../gemm-pack.ts.
   */
  packGemmPanels(
    src: number, dtype: number, layout: number, scales: number, perChannel: number,
    k: number, n: number, out: number, first: number, last: number, thread: number, threads: number,
  ): void;
  /**
   * Winograd filter transform U = G g Gᵀ of an OHWI filter at src (dtype 0
   * float32, 1 float16 bits, 2 int8 with f32 scales, per channel when
   * perChannelScales is 1) into the packed layout at u; threads split the
   * 8-channel panels. See assembly/winograd-pack.ts and ../winograd-pack.ts.
   */
  winogradPackFilter(
    src: number, dtype: number, scales: number, perChannelScales: number, cin: number, cout: number,
    u: number, scratch: number, scratchStride: number, thread: number, threads: number,
  ): void;
  /** Bytes of per-thread scratch winogradPackFilter needs. */
  winogradPackScratchBytes(): number;
}
