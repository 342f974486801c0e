import { FTFY_UPPERCASE_ENTITIES, HTML5_ENTITIES, INVALID_CHARREFS, INVALID_CODEPOINTS } from './html-entities.js';

// Maps, not the generated objects, so that names like "constructor" never
// hit Object.prototype.
const HTML5 = new Map(Object.entries(HTML5_ENTITIES));
const FTFY_UPPERCASE = new Map(Object.entries(FTFY_UPPERCASE_ENTITIES));

// Python's html module: a numeric reference (semicolon optional) or up to 32
// name characters with an optional semicolon, matched by code point.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function numericCharref(num: number): string {
  const fixed = INVALID_CHARREFS.get(num);
  if (fixed !== undefined) return fixed;
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  if (INVALID_CODEPOINTS.has(num)) return '';
  return String.fromCodePoint(num);
}

function replaceCharref(whole: string, ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    // parseInt of a huge reference gives a large number or Infinity, which
    // is > 0x10FFFF exactly when the true value is, as Python's int is.
    return numericCharref(parseInt(digits, hex ? 16 : 10));
  }
  const exact = HTML5.get(ref);
  if (exact !== undefined) return exact;
  // The longest prefix that is an entity (only the legacy names without ';'
  // can match here), keeping the rest of the text. Entity names are ASCII,
  // so UTF-16 indices and Python's code-point indices agree on any match.
  for (let len = ref.length - 1; len > 1; len--) {
    const prefix = HTML5.get(ref.slice(0, len));
    if (prefix !== undefined) return prefix + ref.slice(len);
  }
  return whole;
}

/** Python's `html.unescape`: HTML5 named and numeric character references. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, replaceCharref);
}

const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/**
 * ftfy's `unescape_html`: stricter than html.unescape (a reference must end
 * in ';'), plus all-caps names such as `&EACUTE;`.
 */
export function ftfyUnescapeHtml(text: string): string {
  return text.replace(FTFY_ENTITY, (entity) => {
    if (entity[1] === '#') {
      const decoded = htmlUnescape(entity);
      // Only a reference that html.unescape consumed up to its ';' counts.
      return decoded.includes(';') ? entity : decoded;
    }
    const name = entity.slice(1);
    return HTML5.get(name) ?? FTFY_UPPERCASE.get(name) ?? entity;
  });
}
