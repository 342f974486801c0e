import * as fs from 'node:fs';
import { FormatError, UsageError } from '../errors.js';

/**
 * Reads exactly `length` bytes at absolute `position` into a fresh buffer
 * (its own ArrayBuffer, so any typed-array view of it is aligned). Loops
 * because one read returns at most ~2 GiB and may return fewer bytes; a file
 * that ends early (truncated after it was opened) is a FormatError.
 */
export function readAt(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(length));
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) {
      throw new FormatError(file, `file ends at byte ${position + done}, expected ${length} bytes from byte ${position}`);
    }
    done += n;
  }
  return out;
}

/** Writes all of `bytes` at the fd's current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
  }
}

/**
 * Creates `path` through a temporary file in the same folder, renamed over
 * `path` only once `write` has finished, so a crash or error never leaves a
 * half-written output behind.
 */
export function writeFileAtomically(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx');
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`);
  }
  let open = true;
  try {
    write(fd);
    open = false;
    fs.closeSync(fd); // can report a delayed write error, so before the rename
    fs.renameSync(tmp, path);
  } catch (err) {
    if (open) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    // A failed system call (disk full, target is a folder) is the user's to fix, not a bug.
    const syscall = (err as NodeJS.ErrnoException).syscall;
    if (syscall !== undefined) throw new UsageError(`cannot write ${path}: ${(err as Error).message}`);
    throw err;
  }
}
