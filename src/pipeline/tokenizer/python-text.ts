/*
 * Python string behaviour the reference tokenizers rely on, where JavaScript
 * differs. Both reference tokenizers use the `regex` module, whose \s is
 * Unicode White_Space; str.strip() also strips U+001C..U+001F; JS \s adds
 * U+FEFF and lacks U+0085. Checked over every code point against Python.
 */

const WHITE_SPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_ISSPACE = `${WHITE_SPACE}\\x1c-\\x1f`;

const WHITE_SPACE_RUN = new RegExp(`[${WHITE_SPACE}]+`, 'g');
const STRIP = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, 'g');

/** `regex.sub(r'\s+', ' ', text)`. */
export function collapseWhitespace(text: string): string {
  return text.replace(WHITE_SPACE_RUN, ' ');
}

/** Python's `str.strip()` with no arguments. */
export function pyStrip(text: string): string {
  return text.replace(STRIP, '');
}

/**
 * CLIP's pre-tokenizer: the two special-token strings, English contractions,
 * runs of letters, single digits, runs of anything else but white space.
 *
 * The original is compiled with IGNORECASE and applied to lower-cased text.
 * On such text IGNORECASE changes only two things, spelled out here instead
 * (JS's /i differs from the regex module's): U+017F (long s) also matches
 * "s", and U+0345 (which folds to a Greek iota) matches no alternative at
 * all, so it is dropped.
 */
export const CLIP_PRE_TOKENIZER = new RegExp(
  "<\\|[s\\u017f]tartoftext\\|>|<\\|endoftext\\|>|'[s\\u017f]|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|" +
    `[^${WHITE_SPACE}\\p{L}\\p{N}\\u0345]+`,
  'gu',
);
