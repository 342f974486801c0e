import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/pipeline/tokenizer/clip-tokenizer.js';
import { encodePrompt, parsePromptWeights, weightContext } from '../../src/pipeline/tokenizer/prompt-weights.js';

const tokenizer = ClipTokenizer.load(new URL('../../assets/clip-tokenizer/', import.meta.url).pathname);

/** Pieces as [text, weight] pairs, weights rounded to float32-free precision for comparison. */
function parsed(prompt: string): [string, number][] {
  return parsePromptWeights(prompt).pieces.map(({ text, weight }) => [text, Number(weight.toPrecision(12))]);
}

describe('parsePromptWeights (A1111 emphasis syntax)', () => {
  // Expected values: the examples in the documentation of A1111's
  // parse_prompt_attention (modules/prompt_parser.py).
  it('reads brackets, explicit weights, escapes and unbalanced brackets as A1111 does', () => {
    expect(parsed('normal text')).toEqual([['normal text', 1]]);
    expect(parsed('an (important) word')).toEqual([['an ', 1], ['important', 1.1], [' word', 1]]);
    expect(parsed('(unbalanced')).toEqual([['unbalanced', 1.1]]);
    expect(parsed('\\(literal\\]')).toEqual([['(literal]', 1]]);
    expect(parsed('(unnecessary)(parens)')).toEqual([['unnecessaryparens', 1.1]]);
    expect(parsed('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).')).toEqual([
      ['a ', 1],
      ['house', 1.573],
      [' ', 1.1],
      ['on', 1],
      [' a ', 1.1],
      ['hill', 0.55],
      [', sun, ', 1.1],
      ['sky', 1.4641],
      ['.', 1.1],
    ]);
  });

  it('keeps colons and stray closing brackets as text, and counts BREAK', () => {
    expect(parsed('ratio 16:9)')).toEqual([['ratio 16:9)', 1]]);
    expect(parsed('[faded] photo')).toEqual([['faded', Number((1 / 1.1).toPrecision(12))], [' photo', 1]]);
    expect(parsed('')).toEqual([['', 1]]);
    const { pieces, breaks } = parsePromptWeights('a cat BREAK (a dog:1.2)');
    expect(breaks).toBe(1);
    expect(pieces).toEqual([{ text: 'a cat', weight: 1 }, { text: 'a dog', weight: 1.2 }]);
  });
});

describe('encodePrompt', () => {
  it('emphasis off: the plain ids, no weights, and a hint when the prompt has emphasis syntax', () => {
    for (const prompt of ['a photograph of an astronaut riding a horse', 'a (red:1.5) fox']) {
      const { encoded, weights, warnings } = encodePrompt(tokenizer, prompt, 'hf', 'off');
      expect(Array.from(encoded.ids)).toEqual(Array.from(tokenizer.encode(prompt, 'hf').ids));
      expect(weights).toBeUndefined();
      expect(warnings.length).toBe(prompt.includes('(') ? 1 : 0);
    }
    expect(encodePrompt(tokenizer, 'a (red:1.5) fox', 'hf', 'off').warnings[0]).toMatch(/emphasis brackets .*--emphasis a1111/);
  });

  it('a1111 without emphasis in the prompt: the plain ids and no weights', () => {
    const prompt = 'a photograph of an astronaut riding a horse';
    const { encoded, weights, warnings } = encodePrompt(tokenizer, prompt, 'hf', 'a1111');
    expect(Array.from(encoded.ids)).toEqual(Array.from(tokenizer.encode(prompt, 'hf').ids));
    expect([weights, warnings]).toEqual([undefined, []]);
  });

  it('a1111: weights exactly the tokens of each piece, and drops the brackets and numbers from the ids', () => {
    const { encoded, weights } = encodePrompt(tokenizer, 'a (red:1.5) [fox]', 'hf', 'a1111');
    expect(Array.from(encoded.ids)).toEqual(Array.from(tokenizer.encode('a red fox', 'hf').ids));
    expect(encoded.textTokens).toBe(3);
    expect(Array.from(weights!.subarray(0, 5))).toEqual([1, 1, 1.5, Math.fround(1 / 1.1), 1]);
    expect(weights!.subarray(5).every((w) => w === 1)).toBe(true);
  });

  it('a1111: truncates ids and weights together at 75 text tokens, and warns of truncation and BREAK', () => {
    const { encoded, weights, warnings } = encodePrompt(tokenizer, `${'cat '.repeat(70)}BREAK (dog dog dog dog dog dog dog dog:2)`, 'hf', 'a1111');
    expect(encoded.textTokens).toBe(75);
    expect(encoded.dropped).toBe(3);
    expect(Array.from(weights!.subarray(70, 77))).toEqual([1, 2, 2, 2, 2, 2, 1]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/the prompt is 78 tokens; the text encoder reads 75/);
    expect(warnings[1]).toMatch(/^BREAK starts a new 75-token chunk/);
  });
});

describe('weightContext', () => {
  it('scales each token row by its weight and keeps the mean, against a float64 reference', () => {
    const tokens = 77;
    const hidden = 16;
    const h = Float32Array.from({ length: tokens * hidden }, (_, i) => Math.sin(i * 0.37) + 0.2);
    const w = Float32Array.from({ length: tokens }, (_, t) => (t % 5 === 2 ? 1.3 : t % 7 === 3 ? 0.8 : 1));
    const out = weightContext(h, w, hidden);

    let before = 0;
    let after = 0;
    const scaled = Array.from(h, (v, i) => v * w[Math.floor(i / hidden)]!);
    for (let i = 0; i < h.length; i++) {
      before += h[i]!;
      after += scaled[i]!;
    }
    const expected = scaled.map((v) => v * (before / after));
    let maxDiff = 0;
    for (let i = 0; i < h.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(h), 6);
    expect(() => weightContext(h, w, hidden + 1)).toThrow(/expected 77 x 17/);
  });
});
