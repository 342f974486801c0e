import type { TextEncoder } from './components.js';

/**
 * The text encoder's outputs for the last few token sequences, so that
 * images after the first skip it where they can: the negative prompt
 * (usually '') is the same for every image, and so is a prompt rerun with
 * other seeds. One call costs about as much as a twentieth of a denoising
 * step (full-size CLIP, 0.4-0.7 s). The encoder gives the same bits for the
 * same tokens, so the images do not change.
 *
 * Outputs are kept as copies (a component may hand out memory it reuses);
 * callers must only read what run() returns.
 */
export class CachingTextEncoder implements TextEncoder {
  /** Least recently used first. */
  private readonly outputs = new Map<string, Float32Array>();

  constructor(
    private readonly encoder: TextEncoder,
    private readonly capacity = 4,
  ) {}

  get hiddenSize(): number {
    return this.encoder.hiddenSize;
  }

  run(tokens: Int32Array): Float32Array {
    const key = tokens.join(',');
    const output = this.outputs.get(key) ?? this.encoder.run(tokens).slice();
    this.outputs.delete(key);
    this.outputs.set(key, output);
    for (const oldest of this.outputs.keys()) {
      if (this.outputs.size <= this.capacity) break;
      this.outputs.delete(oldest);
    }
    return output;
  }
}
