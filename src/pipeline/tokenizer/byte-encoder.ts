/**
 * GPT-2/CLIP byte-level alphabet: each of the 256 byte values stands for one
 * printable character, so BPE works on text with no spaces or controls in
 * it. Printable Latin-1 bytes stand for themselves; the 68 others
 * (controls, space, DEL, C1, NBSP, soft hyphen) for U+0100 upward in order.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCharCode(printable ? b : next++));
  }
  return table;
})();

const utf8 = new TextEncoder();

/** The UTF-8 bytes of `text`, one alphabet character per byte. */
export function toByteChars(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
