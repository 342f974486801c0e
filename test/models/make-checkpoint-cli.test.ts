import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseMakeCheckpointArgs } from '../../src/cli/make-checkpoint.js';
import { SD15_CONFIG } from '../../src/models/config.js';

describe('make-checkpoint arguments', () => {
  it('defaults to SD v1.5, fp32, seed 0', () => {
    expect(parseMakeCheckpointArgs(['--out', 'x.safetensors'])).toEqual({
      out: 'x.safetensors',
      config: SD15_CONFIG,
      configName: 'sd15',
      precision: 'fp32',
      seed: 0,
    });
  });

  it('reads a config file, dtype and seed', () => {
    const a = parseMakeCheckpointArgs([
      '--config', 'test/fixtures/tiny-a/model-config.json', '--dtype', 'fp16', '--seed', '4294967295', '--out', 'y.safetensors',
    ])!;
    expect(a.config.unet.model_channels).toBe(32);
    expect([a.precision, a.seed, a.out]).toEqual(['fp16', 4294967295, 'y.safetensors']);
    expect(parseMakeCheckpointArgs(['--help'])).toBeUndefined();
  });

  it('rejects bad arguments with usage errors', () => {
    const bad: [string[], RegExp][] = [
      [[], /--out FILE is required/],
      [['--out', 'x', '--dtype', 'bf16'], /--dtype must be fp32 or fp16, got "bf16"/],
      [['--out', 'x', '--seed', '1.5'], /--seed must be an integer from 0 to 4294967295/],
      [['--out', 'x', '--seed', '4294967296'], /--seed must be an integer/],
      [['--out', 'x', '--seed', 'abc'], /--seed must be an integer/],
      [['--out', 'x', '--colour'], /Unknown option '--colour'/],
      [['--out', 'x', 'extra'], /positional/],
      [['--out', 'x', '--config', 'no-such-config.json'], /neither 'sd15' nor a readable JSON file/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseMakeCheckpointArgs(argv)).toThrow(UsageError);
      expect(() => parseMakeCheckpointArgs(argv)).toThrow(message);
    }
  });
});
