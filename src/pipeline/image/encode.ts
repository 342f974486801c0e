import { crc32 } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbImage } from './rgb-image.js';

function rgba(img: RgbImage): Buffer {
  const out = Buffer.alloc(img.width * img.height * 4);
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    out[j] = img.data[i];
    out[j + 1] = img.data[i + 1];
    out[j + 2] = img.data[i + 2];
    out[j + 3] = 255;
  }
  return out;
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

/**
 * A text chunk: tEXt when the value is Latin-1 (what most viewers show),
 * otherwise iTXt with UTF-8, since prompts may hold any script or emoji.
 */
function textChunk(key: string, value: string): Buffer {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(key)) throw new RangeError(`PNG text key ${JSON.stringify(key)} is not 1-79 Latin-1 characters`);
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(value)) return chunk('tEXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0]), Buffer.from(value, 'latin1')]));
  // keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text
  return chunk('iTXt', Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]));
}

/** PNG bytes with the given text entries placed right after IHDR. */
export function encodePng(img: RgbImage, text: Record<string, string> = {}): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = rgba(img);
  const plain = PNG.sync.write(png, { colorType: 2 });
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length+type, IHDR body, CRC
  const texts = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([plain.subarray(0, ihdrEnd), ...texts, plain.subarray(ihdrEnd)]);
}

export function encodeJpeg(img: RgbImage, quality: number): Buffer {
  return Buffer.from(jpeg.encode({ width: img.width, height: img.height, data: rgba(img) }, quality).data);
}
