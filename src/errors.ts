/**
 * Every failure we expect (bad input files, bad arguments, unsupported ops)
 * is an SdError: the CLIs print its message and exit non-zero, with no stack.
 * Anything else reaching the top level is a bug in sd-tflite.
 */
export class SdError extends Error {
  override name = 'SdError';
}

/** An untrusted file (safetensors, .npy, .tflite, image) is malformed. */
export class FormatError extends SdError {
  override name = 'FormatError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A command-line argument or API option is missing or out of range. */
export class UsageError extends SdError {
  override name = 'UsageError';
}
