import { describe, expect, it } from 'vitest';
import { FormatError, SdError } from '../src/errors.js';

describe('errors', () => {
  it('FormatError names the file and is an SdError', () => {
    const e = new FormatError('model.tflite', 'buffer 3 out of range');
    expect(e).toBeInstanceOf(SdError);
    expect(e.message).toBe('model.tflite: buffer 3 out of range');
    expect(e.file).toBe('model.tflite');
  });
});
