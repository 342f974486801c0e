/** The op registry: every builtin op the interpreter runs, by its schema name. */
import { absOp } from './abs.js';
import { addOp } from './add.js';
import { averagePool2dOp } from './average-pool-2d.js';
import { batchMatmulOp } from './batch-matmul.js';
import { castOp } from './cast.js';
import { ceilOp } from './ceil.js';
import { concatenationOp } from './concatenation.js';
import { conv2dOp } from './conv-2d.js';
import { cosOp } from './cos.js';
import { depthwiseConv2dOp } from './depthwise-conv-2d.js';
import { dequantizeOp } from './dequantize.js';
import { divOp } from './div.js';
import { expOp } from './exp.js';
import { expandDimsOp } from './expand-dims.js';
import { floorOp } from './floor.js';
import { fullyConnectedOp } from './fully-connected.js';
import { gatherOp } from './gather.js';
import { geluOp } from './gelu.js';
import { hardSwishOp } from './hard-swish.js';
import { logOp } from './log.js';
import { logisticOp } from './logistic.js';
import { maxPool2dOp } from './max-pool-2d.js';
import { maximumOp } from './maximum.js';
import { meanOp } from './mean.js';
import { minimumOp } from './minimum.js';
import { mulOp } from './mul.js';
import { negOp } from './neg.js';
import type { OpDefinition } from './op.js';
import { padOpDef } from './pad.js';
import { padV2Op } from './padv2.js';
import { reluOp } from './relu.js';
import { reluN1To1Op } from './relu-n1-to-1.js';
import { relu6Op } from './relu6.js';
import { reshapeOp } from './reshape.js';
import { resizeBilinearOp } from './resize-bilinear.js';
import { resizeNearestNeighborOp } from './resize-nearest-neighbor.js';
import { rsqrtOp } from './rsqrt.js';
import { shapeOp } from './shape.js';
import { sinOp } from './sin.js';
import { sliceOp } from './slice.js';
import { softmaxOp } from './softmax.js';
import { splitOp } from './split.js';
import { splitVOp } from './split-v.js';
import { sqrtOp } from './sqrt.js';
import { squareOp } from './square.js';
import { squaredDifferenceOp } from './squared-difference.js';
import { squeezeOp } from './squeeze.js';
import { stablehloCompositeOp } from './stablehlo-composite.js';
import { stridedSliceOp } from './strided-slice.js';
import { subOp } from './sub.js';
import { sumOp } from './sum.js';
import { tanhOp } from './tanh.js';
import { transposeOp } from './transpose.js';

const OPS: readonly OpDefinition[] = [
  absOp, addOp, averagePool2dOp, batchMatmulOp, castOp, ceilOp, concatenationOp, conv2dOp, cosOp, depthwiseConv2dOp,
  dequantizeOp, divOp, expandDimsOp, expOp, floorOp, fullyConnectedOp, gatherOp, geluOp, hardSwishOp, logisticOp,
  logOp, maximumOp, maxPool2dOp, meanOp, minimumOp, mulOp, negOp, padOpDef, padV2Op, relu6Op, reluN1To1Op, reluOp,
  reshapeOp, resizeBilinearOp, resizeNearestNeighborOp, rsqrtOp, shapeOp, sinOp, sliceOp, softmaxOp, splitOp,
  splitVOp, sqrtOp, squaredDifferenceOp, squareOp, squeezeOp, stablehloCompositeOp, stridedSliceOp, subOp, sumOp,
  tanhOp, transposeOp,
];

const REGISTRY = new Map(OPS.map((op) => [op.name, op]));

/** The definition of an op by name ('CONV_2D'), or undefined when unsupported. */
export function opDefinition(name: string): OpDefinition | undefined {
  return REGISTRY.get(name);
}

/** Names of every supported op, sorted. */
export function supportedOps(): string[] {
  return [...REGISTRY.keys()].sort();
}
