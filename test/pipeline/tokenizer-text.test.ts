import { describe, expect, test } from 'vitest';
import { fixText } from '../../src/pipeline/tokenizer/fix-text.js';
import { ftfyUnescapeHtml, htmlUnescape } from '../../src/pipeline/tokenizer/html-unescape.js';
import { collapseWhitespace, pyStrip } from '../../src/pipeline/tokenizer/python-text.js';

// Expected strings printed by Python 3.11.7: html.unescape, and ftfy 6.3.1
// (commit 74dd045, the version cases.json was made with): ftfy.fixes.unescape_html
// and ftfy.fix_text with default settings (for these inputs its mojibake repair,
// which we do not implement, changes nothing).
const PYTHON: Record<'htmlUnescape' | 'ftfyUnescapeHtml' | 'fixText', [string, string][]> = {
  htmlUnescape: [
    ["&amp; &lt;&gt; &quot;", "& <> \""],
    ["&amp", "&"],
    ["&ampx &notit; &not;", "&x \u00acit; \u00ac"],
    ["&AMP; &Amp;", "& &Amp;"],
    ["&eacute &eacute; &EACUTE;", "\u00e9 \u00e9 &EACUTE;"],
    ["&#65;&#x42;&#X43 &#0068;", "ABC D"],
    ["&#0; &#13; &#128; &#x9d; &#11; &#xfffe;", "\ufffd \r \u20ac \u009d  "],
    ["&#xD800; &#x110000; &#99999999999999999999;", "\ufffd \ufffd \ufffd"],
    ["&#x1F600; &#128512;", "\ud83d\ude00 \ud83d\ude00"],
    ["&; &# &#x; &#xg;", "&; &# &#x; &#xg;"],
    ["&lt;&lt &ltx &LT &LTx", "<< <x < <x"],
    ["&amp;amp;", "&amp;"],
    ["&constructor; &toString;", "&constructor; &toString;"],
    ["&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"],
    ["&\u00e9acute; &\ud83d\ude00;", "&\u00e9acute; &\ud83d\ude00;"],
    ["&nbsp;x&nbspx", "\u00a0x\u00a0x"],
    ["&NotNestedGreaterGreater; &fjlig;", "\u2aa2\u0338 fj"],
    ["&acE;", "\u223e\u0333"],
  ],
  ftfyUnescapeHtml: [
    ["&amp; &amp &AMP; &eacute &eacute; &EACUTE; &SZLIG;", "& &amp & &eacute \u00e9 \u00c9 SS"],
    ["&#65;&#65 &#65a; &#x110000;", "A&#65 &#65a; \ufffd"],
    ["&nTILDE; &NTILDE; &Ntilde;", "&nTILDE; \u00d1 \u00d1"],
    ["&notit; &not;", "&notit; \u00ac"],
    ["&#128;", "\u20ac"],
  ],
  fixText: [
    ["don\u2019t \u201cquoted\u201d \u2018single\u2019 \u02bcokina", "don't \"quoted\" 'single' 'okina"],
    ["\ufb01sh \ufb02ower \ufb03 \ufb05 \u0149 \u01c4 \u0133", "fish flower ffi \u017ft 'n D\u017d ij"],
    ["\uff21\uff22\uff23\u3000\uff11\uff12\uff1a\uff01 \uff76\uff9e \uffe0\uffe5 \uff61", "ABC 12:! \u30ac \u00a2\u00a5 \u3002"],
    ["a\r\nb\rc\u2028d\u2029e\u0085f", "a\nb\nc\nd\ne\u2026f"],
    ["bell\u0007 nul\u0000 vt\u000b ff\f del\u007f \u001c\u001f bom\ufeff arabic\u206a obj\ufffc tab\t", "bell nul vt ff\f del  bom arabic obj tab\t"],
    ["\u001b[31mred\u001b[0m \u001b[1;2;3m \u001b[\u0661m \u001b[ x", "red   [ x"],
    ["e\u0301 A\u030a", "\u00e9 \u00c5"],
    ["euro\u0080 quote\u0093x\u0094 undefined\u0081\u008d\u008f\u0090\u009d", "euro\u20ac quote\"x\" undefined\u0081\u008d\u008f\u0090\u009d"],
    ["lone \ud800 and \udc00", "lone \ufffd and \ufffd"],
    ["&amp;lt; then <b>&amp;</b>", "&amp;lt; then <b>&amp;</b>"],
    ["first &amp;\nsecond < &amp;\nthird &amp;", "first &\nsecond < &amp;\nthird &amp;"],
    ["&#x201c;curly&#x201d;", "\"curly\""],
    ["soft\u00adhyphen zero\u200bwidth joiner\u200d", "soft\u00adhyphen zero\u200bwidth joiner\u200d"],
    ["\u2126 ohm \u212b angstrom", "\u03a9 ohm \u00c5 angstrom"],
  ],
};

describe('Python html.unescape', () => {
  test.each(PYTHON.htmlUnescape)('%j', (input, expected) => {
    expect(htmlUnescape(input)).toBe(expected);
  });
});

describe("ftfy's unescape_html", () => {
  test.each(PYTHON.ftfyUnescapeHtml)('%j', (input, expected) => {
    expect(ftfyUnescapeHtml(input)).toBe(expected);
  });
});

describe('ftfy.fix_text without mojibake repair', () => {
  test.each(PYTHON.fixText)('%j', (input, expected) => {
    expect(fixText(input)).toBe(expected);
  });

  test('mojibake is left as written', () => {
    expect(fixText('caf\u00c3\u00a9')).toBe('caf\u00c3\u00a9');
  });
});

describe('Python white space', () => {
  test('the regex module collapses White_Space (U+0085 yes, U+FEFF and U+001C no)', () => {
    expect(collapseWhitespace('a\u0085\u00a0\u3000b\ufeffc\u001cd')).toBe('a b\ufeffc\u001cd');
  });

  test('str.strip also strips U+001C..U+001F but not U+FEFF', () => {
    expect(pyStrip('\u001c\u001f \u2003x y\t\u0085')).toBe('x y');
    expect(pyStrip('\ufeffx')).toBe('\ufeffx');
  });
});
