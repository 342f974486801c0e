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
 * Lets the event loop run once (timers, signal handlers, I/O; 2 µs when idle),
 * then throws if the signal was aborted meanwhile.
 */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfAborted(signal);
}
