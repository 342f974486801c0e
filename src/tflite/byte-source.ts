import * as fs from 'node:fs';
import { FormatError } from '../errors.js';

/**
 * Random-access bytes of a .tflite file: either all in memory, or read
 * through a file descriptor in cached pages, so opening a multi-gigabyte
 * model touches only the pages holding its flatbuffer tables.
 */
export interface ByteSource {
  readonly file: string;
  readonly size: number;
  /** `length` bytes at `pos`; may be a view into a cache, valid until the next call. */
  view(pos: number, length: number): Uint8Array;
  /** `length` bytes at `pos` in a fresh buffer of their own (aligned for any typed array). */
  copy(pos: number, length: number): Uint8Array;
  close(): void;
}

function checkRange(source: ByteSource, pos: number, length: number): void {
  if (!(pos >= 0 && length >= 0 && pos + length <= source.size)) {
    throw new FormatError(source.file, `read of ${length} bytes at byte ${pos} runs past the end of the file (${source.size} bytes)`);
  }
}

export class MemorySource implements ByteSource {
  readonly size: number;
  private readonly bytes: Uint8Array;
  constructor(
    readonly file: string,
    bytes: Uint8Array,
  ) {
    // A plain Uint8Array view: on a Node Buffer, slice() would not copy.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.byteLength;
  }
  view(pos: number, length: number): Uint8Array {
    checkRange(this, pos, length);
    return this.bytes.subarray(pos, pos + length);
  }
  copy(pos: number, length: number): Uint8Array {
    return this.view(pos, length).slice();
  }
  close(): void {}
}

const PAGE_SIZE = 1 << 16; // 64 KiB pages
const MAX_CACHED_PAGES = 256; // 16 MiB of cache at most

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;
  private readonly pages = new Map<number, Uint8Array>();

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  view(pos: number, length: number): Uint8Array {
    checkRange(this, pos, length);
    const first = Math.floor(pos / PAGE_SIZE);
    if (Math.floor((pos + length - 1) / PAGE_SIZE) === first && length > 0) {
      const page = this.page(first);
      const at = pos - first * PAGE_SIZE;
      return page.subarray(at, at + length);
    }
    return this.copy(pos, length);
  }

  copy(pos: number, length: number): Uint8Array {
    checkRange(this, pos, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.openFd(), out, done, Math.min(length - done, 1 << 30), pos + done);
      if (n === 0) throw new FormatError(this.file, `file ended while reading byte ${pos + done} (was it truncated?)`);
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.pages.clear();
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`${this.file} is closed`);
    return this.fd;
  }

  private page(index: number): Uint8Array {
    let page = this.pages.get(index);
    if (page) {
      // Re-insert to mark as most recently used.
      this.pages.delete(index);
    } else {
      const start = index * PAGE_SIZE;
      page = this.copy(start, Math.min(PAGE_SIZE, this.size - start));
      if (this.pages.size >= MAX_CACHED_PAGES) this.pages.delete(this.pages.keys().next().value!);
    }
    this.pages.set(index, page);
    return page;
  }
}
