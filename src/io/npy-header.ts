import { FormatError } from '../errors.js';

/** The fields of a .npy header dict, before the dtype is interpreted. */
export interface NpyHeaderFields {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

type PyValue = string | boolean | number[];

/**
 * Parses the Python dict literal of a .npy header, e.g.
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
 * Only the literal forms numpy writes are accepted: quoted strings, True/False
 * and tuples of non-negative integers (an old Python 2 `L` suffix is allowed).
 */
export function parseNpyHeaderDict(file: string, text: string): NpyHeaderFields {
  const p = new DictParser(file, text);
  const dict = p.dict();
  const keys = Object.keys(dict).sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw new FormatError(file, `.npy header has keys ${JSON.stringify(keys)}, expected descr, fortran_order and shape`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict as Record<string, PyValue>;
  if (typeof descr !== 'string') {
    throw new FormatError(file, `.npy header descr is ${describe(descr)}, expected a dtype string (structured dtypes are not supported)`);
  }
  if (typeof fortranOrder !== 'boolean') throw new FormatError(file, `.npy header fortran_order is ${describe(fortranOrder)}, expected True or False`);
  if (!Array.isArray(shape)) throw new FormatError(file, `.npy header shape is ${describe(shape)}, expected a tuple of integers`);
  return { descr, fortranOrder, shape };
}

function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return `a tuple (${v.join(', ')})`;
  return typeof v === 'string' ? `the string '${v.slice(0, 40)}'` : String(v);
}

class DictParser {
  private pos = 0;

  constructor(
    private readonly file: string,
    private readonly text: string,
  ) {}

  dict(): Record<string, PyValue> {
    const out: Record<string, PyValue> = Object.create(null) as Record<string, PyValue>;
    this.expect('{');
    for (;;) {
      this.ws();
      if (this.peek() === '}') break;
      const key = this.string();
      if (key in out) this.fail(`repeats the key '${key}'`);
      this.ws();
      this.expect(':');
      this.ws();
      out[key] = this.value();
      this.ws();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') this.fail("expected ',' or '}'");
    }
    this.pos++;
    this.ws();
    if (this.pos !== this.text.length) this.fail('has text after the closing brace');
    return out;
  }

  private value(): PyValue {
    const c = this.peek();
    if (c === "'" || c === '"') return this.string();
    if (c === '(') return this.tuple();
    if (c === '[') this.fail('has a list value (structured dtypes are not supported)');
    for (const [word, v] of [
      ['True', true],
      ['False', false],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail('has a value that is not a string, True/False or a tuple');
  }

  private tuple(): number[] {
    this.expect('(');
    const out: number[] = [];
    for (;;) {
      this.ws();
      if (this.peek() === ')') break;
      const m = /^[0-9]+L?/.exec(this.text.slice(this.pos, this.pos + 40));
      if (m === null) this.fail('has a shape entry that is not a non-negative integer');
      const n = Number.parseInt(m[0], 10);
      if (!Number.isSafeInteger(n)) this.fail(`has a shape entry ${m[0]} too large`);
      out.push(n);
      this.pos += m[0].length;
      this.ws();
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== ')') this.fail("expected ',' or ')' in the shape");
    }
    this.pos++;
    return out;
  }

  private string(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string');
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail('has an unterminated string');
    const s = this.text.slice(this.pos + 1, end);
    if (s.includes('\\')) this.fail('has a string with escapes');
    this.pos = end + 1;
    return s;
  }

  private ws(): void {
    while (this.pos < this.text.length && ' \t\r\n'.includes(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private expect(c: string): void {
    if (this.peek() !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  private fail(what: string): never {
    throw new FormatError(this.file, `.npy header is not a valid dict literal: ${what} at character ${this.pos}`);
  }
}
