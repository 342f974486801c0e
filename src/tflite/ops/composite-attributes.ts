/** STABLEHLO_COMPOSITE attributes: a FlexBuffers map (e.g. {num_groups: 32, epsilon: 1e-5, channel_axis: 3}). */
import * as flexbuffers from 'flatbuffers/js/flexbuffers.js';
import { UsageError } from '../../errors.js';

export function decodeCompositeAttributes(bytes: Uint8Array | undefined, composite: string): Record<string, unknown> {
  if (!bytes || bytes.length === 0) return {};
  let value: unknown;
  try {
    value = flexbuffers.toObject(bytes.slice().buffer);
  } catch (err) {
    throw new UsageError(`composite ${composite}: attributes are not a valid FlexBuffer (${err instanceof Error ? err.message : String(err)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`composite ${composite}: attributes are not a FlexBuffers map`);
  }
  return value as Record<string, unknown>;
}

/** A numeric attribute (the first of `names` present), or undefined. */
export function numberAttribute(attrs: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = attrs[n];
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
  }
  return undefined;
}
