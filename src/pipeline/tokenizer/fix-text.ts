import { INVALID_CHARREFS } from './html-entities.js';
import { ftfyUnescapeHtml } from './html-unescape.js';

/*
 * The part of `ftfy.fix_text` (ftfy 6.3, default settings) that OpenAI's CLIP
 * tokenizer runs on every prompt, and so the part SD v1.5 was trained with.
 *
 * Not implemented: ftfy's mojibake repair (`fix_encoding`: guessing that text
 * was decoded in the wrong codec, e.g. "cafÃ©" -> "café"). It is heuristic,
 * needs ftfy's badness model and codec tables, and a prompt typed by a person
 * is not mojibake; such text is tokenized as written.
 */

// fix_latin_ligatures: Latin typographic ligatures and legacy digraphs.
const LIGATURES = new Map<string, string>([
  ['\u0132', 'IJ'], ['\u0133', 'ij'], ['\u0149', '\u02bcn'],
  ['\u01f1', 'DZ'], ['\u01f2', 'Dz'], ['\u01f3', 'dz'],
  ['\u01c4', 'D\u017d'], ['\u01c5', 'D\u017e'], ['\u01c6', 'd\u017e'],
  ['\u01c7', 'LJ'], ['\u01c8', 'Lj'], ['\u01c9', 'lj'],
  ['\u01ca', 'NJ'], ['\u01cb', 'Nj'], ['\u01cc', 'nj'],
  ['\ufb00', 'ff'], ['\ufb01', 'fi'], ['\ufb02', 'fl'], ['\ufb03', 'ffi'],
  ['\ufb04', 'ffl'], ['\ufb05', '\u017ft'], ['\ufb06', 'st'],
]);
const LIGATURE_RE = new RegExp(`[${[...LIGATURES.keys()].join('')}]`, 'g');

// fix_character_width: the ideographic space and every half/full-width form
// in U+FF01..U+FFEF that NFKC changes.
const WIDTH = new Map<string, string>([['\u3000', ' ']]);
for (let cp = 0xff01; cp < 0xfff0; cp++) {
  const ch = String.fromCharCode(cp);
  const normal = ch.normalize('NFKC');
  if (normal !== ch) WIDTH.set(ch, normal);
}
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

// fix_c1_controls: U+0080..U+009F read as Windows-1252 bytes (the five bytes
// Windows-1252 leaves undefined stay as they are). html.unescape's table of
// forbidden numeric references holds exactly this mapping.
const C1_RE = /[\u0080-\u009f]/g;

// remove_terminal_escapes: ANSI colour/cursor sequences; Python's \d is any
// decimal digit, not only ASCII.
const ANSI_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;

// remove_control_chars: C0 controls except tab, LF, FF, CR; DEL; deprecated
// Arabic format controls; BOM; interlinear annotation and U+FFFC.
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

// fix_surrogates: a lone UTF-16 surrogate becomes U+FFFD (paired ones are
// already one character in a JS string).
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** One pass of ftfy's fixers over one line, in ftfy's order. */
function fixOnePass(text: string, unescapeHtml: boolean): string {
  if (unescapeHtml) text = ftfyUnescapeHtml(text);
  text = text.replace(C1_RE, (ch) => INVALID_CHARREFS.get(ch.charCodeAt(0))!);
  text = text.replace(LIGATURE_RE, (ch) => LIGATURES.get(ch)!);
  text = text.replace(WIDTH_RE, (ch) => WIDTH.get(ch) ?? ch);
  // uncurl_quotes
  text = text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'");
  // fix_line_breaks
  text = text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n');
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(ANSI_RE, '');
  text = text.replace(CONTROL_RE, '');
  return text.normalize('NFC');
}

/**
 * `ftfy.fix_text` without mojibake repair. Like ftfy, works line by line,
 * repeats the fixers until the line stops changing, and stops unescaping
 * HTML entities for good once a line contains '<' (the text looks like real
 * HTML, whose entities are meant literally).
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  const out: string[] = [];
  for (let pos = 0; pos < text.length; ) {
    const newline = text.indexOf('\n', pos);
    const end = newline < 0 ? text.length : newline + 1;
    let line = text.slice(pos, end);
    if (line.includes('<')) unescapeHtml = false;
    for (;;) {
      const fixed = fixOnePass(line, unescapeHtml);
      if (fixed === line) break;
      line = fixed;
    }
    out.push(line);
    pos = end;
  }
  return out.join('');
}
