import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FormatError } from '../../errors.js';
import type { RgbImage } from './rgb-image.js';

/** Largest image we decode: 64 megapixels keeps memory bounded for hostile files. */
const MAX_PIXELS = 64 * 1024 * 1024;

function dropAlpha(width: number, height: number, rgbaData: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgbaData[i];
    data[j + 1] = rgbaData[i + 1];
    data[j + 2] = rgbaData[i + 2];
  }
  return { width, height, data };
}

function checkSize(file: string, width: number, height: number): void {
  if (!(width > 0 && height > 0) || width * height > MAX_PIXELS) {
    throw new FormatError(file, `image size ${width}x${height} is empty or over ${MAX_PIXELS / (1024 * 1024)} megapixels`);
  }
}

/** Decodes a PNG or JPEG (by its magic bytes) to RGB; alpha is dropped. */
export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 24 && buf.readUInt32BE(0) === 0x89504e47) {
    checkSize(file, buf.readUInt32BE(16), buf.readUInt32BE(20));
    let png: PNG;
    try {
      png = PNG.sync.read(buf);
    } catch (e) {
      throw new FormatError(file, `not a readable PNG (${(e as Error).message})`);
    }
    return dropAlpha(png.width, png.height, png.data);
  }
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    let raw: { width: number; height: number; data: Uint8Array };
    try {
      raw = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
    } catch (e) {
      throw new FormatError(file, `not a readable JPEG (${(e as Error).message})`);
    }
    checkSize(file, raw.width, raw.height);
    return dropAlpha(raw.width, raw.height, raw.data);
  }
  throw new FormatError(file, 'not a PNG or JPEG file (unknown magic bytes)');
}

export function readImage(file: string): RgbImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new FormatError(file, `cannot read image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeImage(bytes, file);
}
