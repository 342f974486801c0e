/** Marks the last symbol of a word, as in CLIP's vocabulary ("cat</w>"). */
export const WORD_END = '</w>';

const CACHE_LIMIT = 10_000;

/**
 * Byte-pair encoding of one pre-tokenized word (already in byte-alphabet
 * characters): start from single characters, the last one marked as word
 * end, and repeatedly merge every occurrence, left to right, of the adjacent
 * pair with the lowest merge rank, until no adjacent pair has a rank.
 */
export class BytePairEncoder {
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param ranks merge rank by "left right" (symbols never contain spaces)
   * @param vocab token id by symbol; every merge result and every byte
   *   character (with and without WORD_END) must be in it
   */
  constructor(
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly vocab: ReadonlyMap<string, number>,
  ) {}

  /** The token ids of one word. */
  encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.mergeSymbols(word).map((symbol) => {
      const id = this.vocab.get(symbol);
      // The loader checks the vocabulary covers every symbol BPE can make.
      if (id === undefined) throw new Error(`BPE symbol ${JSON.stringify(symbol)} missing from vocabulary`);
      return id;
    });
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** The symbols of one word after all merges. */
  mergeSymbols(word: string): string[] {
    let symbols = Array.from(word);
    if (symbols.length === 0) return [];
    symbols[symbols.length - 1] += WORD_END;
    while (symbols.length > 1) {
      let best = Infinity;
      let left = '';
      let right = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          left = symbols[i]!;
          right = symbols[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}
