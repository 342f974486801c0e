/**
 * Cancelling `generate` with an AbortSignal. The networks run synchronously
 * on this thread, so an abort (from a timer, a request closing, SIGINT) can
 * only be seen when the pipeline hands the event loop a turn: it does so at
 * every step boundary (`checkpoint`), and stops there when the signal is set.
 */

/** What `generate` rejects with when its signal is aborted: `name` 'AbortError', as fetch's and Node's own. */
export class AbortError extends Error {
  override name = 'AbortError';
  /** Node's code for the same condition (timers/promises, events.once). */
  readonly code = 'ABORT_ERR';
  constructor(message = 'generate was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Throws an AbortError (the signal's reason as its cause) when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/**
 * `work`, or an AbortError as soon as `signal` aborts, whichever comes first
 * (work keeps running: it must stop by itself, at its next checkpoint).
 */
export function settleOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    work.then(
      (value) => (done(), resolve(value)),
      (err: unknown) => (done(), reject(err)),
    );
  });
}

/**
 * Lets the event loop run once (timers, signal handlers, I/O; 2 µs when idle),
 * then throws if the signal was aborted meanwhile.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfAborted(signal);
}
