import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.js';
import { decodeImage, encodeJpeg, encodePng, imageFromNchw, nchwFromImage, readImage, resizeBicubic } from '../../src/pipeline/image/index.js';

const fixtures = join(__dirname, '..', 'fixtures', 'images');

/** Text chunks of a PNG, read with a parser independent of ours. */
function pngTexts(png: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let p = 8; p < png.length; ) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    const body = png.subarray(p + 8, p + 8 + len);
    const nul = body.indexOf(0);
    if (type === 'tEXt') out[body.toString('latin1', 0, nul)] = body.toString('latin1', nul + 1);
    if (type === 'iTXt') {
      expect(body[nul + 1]).toBe(0); // uncompressed
      const lang = body.indexOf(0, nul + 3);
      const trans = body.indexOf(0, lang + 1);
      out[body.toString('latin1', 0, nul)] = body.toString('utf8', trans + 1);
    }
    p += 12 + len;
  }
  return out;
}

describe('image files', () => {
  const img = { width: 5, height: 3, data: Uint8Array.from({ length: 45 }, (_, i) => (i * 37) % 256) };

  it('PNG round trip keeps pixels and carries text chunks (tEXt, iTXt for non-Latin-1)', () => {
    const png = encodePng(img, { prompt: 'a café, "quoted"', negative_prompt: '猫 🐱', seed: '42' });
    expect(decodeImage(png, 'x.png')).toEqual(img);
    expect(pngTexts(png)).toEqual({ prompt: 'a café, "quoted"', negative_prompt: '猫 🐱', seed: '42' });
    // The image data still inflates: chunks were spliced without damage.
    const idat = png.indexOf('IDAT');
    expect(inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4))).length).toBe(3 * (1 + 5 * 3));
  });

  it('JPEG round trip stays close at high quality', () => {
    const flat = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(120) };
    const back = decodeImage(encodeJpeg(flat, 95), 'x.jpg');
    expect(back.width).toBe(16);
    for (const v of back.data) expect(Math.abs(v - 120)).toBeLessThanOrEqual(2);
  });

  it('rejects unreadable images with the file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'img-'));
    const bad = join(dir, 'bad.png');
    const png = encodePng(img);
    writeFileSync(bad, png.subarray(0, png.length - 20));
    expect(() => readImage(bad)).toThrow(FormatError);
    expect(() => readImage(bad)).toThrow(/bad\.png/);
    expect(() => readImage(join(dir, 'missing.png'))).toThrow(/missing\.png.*ENOENT/);
    expect(() => decodeImage(new Uint8Array([1, 2, 3]), 'three.bin')).toThrow(/three\.bin: not a PNG or JPEG/);
    expect(() => decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0, 0, 0]), 'cut.jpg')).toThrow(FormatError);
  });

  it('bicubic resize matches PIL (the reference pipeline resizes with it) within 1 level', () => {
    const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8'));
    const src = readImage(join(fixtures, manifest.source));
    for (const c of manifest.resizes) {
      const want = readImage(join(fixtures, c.file));
      const got = resizeBicubic(src, c.width, c.height);
      let maxDiff = 0;
      for (let i = 0; i < want.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - want.data[i]));
      expect(maxDiff, `${c.width}x${c.height}`).toBeLessThanOrEqual(1);
    }
  });

  it('float NCHW <-> bytes follows the reference rescale (clamp, truncate)', () => {
    const f = Float32Array.from([-1.5, -1, 0, 0.999, 1, 2]);
    // 3 channels x 1 x 2 pixels
    const out = imageFromNchw(f, 1, 2);
    expect(Array.from(out.data)).toEqual([0, 127, 255, 0, 254, 255]);
    const back = nchwFromImage({ width: 2, height: 1, data: Uint8Array.from([0, 255, 51, 255, 0, 204]) });
    expect(Array.from(back).map((v) => Math.round(v * 100) / 100)).toEqual([-1, 1, 1, -1, -0.6, 0.6]);
  });
});
