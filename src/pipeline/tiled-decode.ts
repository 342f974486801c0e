/**
 * Decoding a latent too big for one decoder run in overlapping tiles: each
 * tile of `tile` x `tile` latent cells (fewer where the latent is smaller)
 * is decoded alone, and the tiles' images are blended where they overlap
 * with weights that ramp linearly across the overlap (1 elsewhere, and at
 * the image's borders), so no seam shows.
 *
 * Not exact: the VAE decoder's group norms take statistics over the whole
 * image and its mid-block attention is global, so a tile's pixels differ
 * from the untiled decode's by an amount that depends on the weights
 * (measured in test/pipeline/tiled-decode.test.ts). Tile only where one
 * run would not fit (TiledDecoder).
 */
import { UsageError } from '../errors.js';
import { VAE_SCALE, type Decoder, type LatentSize, type LatentSizeRule } from './components.js';

export interface DecodeTiling {
  /** Tile side in latent cells. */
  tile: number;
  /** Latent cells shared by neighbouring tiles (less than `tile`). */
  overlap: number;
}

/** Where the tiles start along one axis of `length` cells: every tile is `tile` long, the last one ends at the end. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (length <= tile) return [0];
  const step = tile - overlap;
  const starts: number[] = [];
  for (let s = 0; s + tile < length; s += step) starts.push(s);
  starts.push(length - tile);
  return starts;
}

/**
 * Blend weight of each pixel of a tile along one axis: 1 inside, a ramp
 * from ~0 to 1 across the part shared with the neighbour before / after
 * (none at the image's border).
 */
function axisWeights(pixels: number, rampBefore: number, rampAfter: number): Float32Array {
  const w = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    let v = 1;
    if (rampBefore > 0) v = Math.min(v, (i + 0.5) / rampBefore);
    if (rampAfter > 0) v = Math.min(v, (pixels - i - 0.5) / rampAfter);
    w[i] = v;
  }
  return w;
}

/**
 * Decodes latents [1, channels, size.height, size.width] tile by tile with
 * `decode` (which gets [1, channels, th, tw] and returns [1, 3, 8·th, 8·tw])
 * and blends the tiles into [1, 3, 8·height, 8·width].
 */
export function decodeTiled(
  decode: (latents: Float32Array, size: LatentSize) => Float32Array,
  latents: Float32Array,
  channels: number,
  size: LatentSize,
  { tile, overlap }: DecodeTiling,
): Float32Array {
  if (!Number.isInteger(tile) || !Number.isInteger(overlap) || tile < 1 || overlap < 0 || overlap >= tile) {
    throw new UsageError(`decoder tiles: need whole numbers with 0 <= overlap < tile, got tile ${tile}, overlap ${overlap}`);
  }
  const { height: h, width: w } = size;
  if (latents.length !== channels * h * w) throw new UsageError(`decoder tiles: ${latents.length} latent values for ${channels}x${h}x${w}`);
  const [H, W] = [h * VAE_SCALE, w * VAE_SCALE];
  const sum = new Float32Array(3 * H * W);
  const weight = new Float32Array(H * W);
  const ys = tileStarts(h, tile, overlap);
  const xs = tileStarts(w, tile, overlap);
  const [th, tw] = [Math.min(tile, h), Math.min(tile, w)];
  const part = new Float32Array(channels * th * tw);
  ys.forEach((y0, iy) => {
    // The ramp covers what this tile shares with the previous / next one.
    const wy = axisWeights(th * VAE_SCALE, iy > 0 ? (ys[iy - 1]! + th - y0) * VAE_SCALE : 0, iy < ys.length - 1 ? (y0 + th - ys[iy + 1]!) * VAE_SCALE : 0);
    xs.forEach((x0, ix) => {
      const wx = axisWeights(tw * VAE_SCALE, ix > 0 ? (xs[ix - 1]! + tw - x0) * VAE_SCALE : 0, ix < xs.length - 1 ? (x0 + tw - xs[ix + 1]!) * VAE_SCALE : 0);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < th; y++) {
          const from = (c * h + y0 + y) * w + x0;
          part.set(latents.subarray(from, from + tw), (c * th + y) * tw);
        }
      }
      const image = decode(part, { height: th, width: tw });
      const [PH, PW, Y0, X0] = [th * VAE_SCALE, tw * VAE_SCALE, y0 * VAE_SCALE, x0 * VAE_SCALE];
      if (image.length !== 3 * PH * PW) throw new Error(`decoder tile gave ${image.length} values, expected 3x${PH}x${PW}`);
      for (let y = 0; y < PH; y++) {
        for (let x = 0; x < PW; x++) {
          const k = wy[y]! * wx[x]!;
          const at = (Y0 + y) * W + X0 + x;
          weight[at] = weight[at]! + k;
          for (let c = 0; c < 3; c++) sum[c * H * W + at] = sum[c * H * W + at]! + k * image[(c * PH + y) * PW + x]!;
        }
      }
    });
  });
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) sum[c * H * W + i] = sum[c * H * W + i]! / weight[i]!;
  return sum;
}

/**
 * Latents up to this many cells decode in one run: 128x128 (1024x1024
 * pixels) plans 2.7 GB of decoder activations, which still fits the 4 GiB
 * of kernel memory beside the rest; past about 136x136 one run would not.
 */
export const MAX_UNTILED_LATENT_CELLS = 128 * 128;

/** Tiles for latents past MAX_UNTILED_LATENT_CELLS: 96 cells (768 pixels, 1.5 GB of activations), 32 shared. */
export const DEFAULT_DECODE_TILING: DecodeTiling = { tile: 96, overlap: 32 };

/**
 * A decoder that runs whole latents up to `maxCells` cells and tiles bigger
 * ones (decodeTiled); a decoder of fixed size is never tiled.
 */
export class TiledDecoder implements Decoder {
  readonly latentChannels: number;
  readonly sizeRule: LatentSizeRule;

  constructor(
    private readonly inner: Decoder,
    private readonly maxCells = MAX_UNTILED_LATENT_CELLS,
    private readonly tiling = DEFAULT_DECODE_TILING,
  ) {
    this.latentChannels = inner.latentChannels;
    this.sizeRule = inner.sizeRule;
  }

  private tiled(size: LatentSize): boolean {
    return this.sizeRule.kind === 'multiple' && size.height * size.width > this.maxCells;
  }

  private tileSize(size: LatentSize): LatentSize {
    return { height: Math.min(size.height, this.tiling.tile), width: Math.min(size.width, this.tiling.tile) };
  }

  prepare(size: LatentSize): void {
    this.inner.prepare?.(this.tiled(size) ? this.tileSize(size) : size);
  }

  run(latents: Float32Array, size: LatentSize): Float32Array {
    if (!this.tiled(size)) return this.inner.run(latents, size);
    return decodeTiled((part, s) => this.inner.run(part, s), latents, this.latentChannels, size, this.tiling);
  }
}
