import { readFileSync } from 'node:fs';

/**
 * Minimal safetensors header parse for the layout tests: the 8-byte length,
 * then the JSON table. (The project reader, src/io/safetensors.ts, is tested
 * on its own; this keeps the layout tests independent of it.)
 */
export function readSafetensorsHeader(path: string): {
  tensors: Map<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  metadata: Record<string, string> | undefined;
  dataStart: number;
} {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const json = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const tensors = new Map<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>();
  let metadata: Record<string, string> | undefined;
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') metadata = entry as Record<string, string>;
    else tensors.set(name, entry as { dtype: string; shape: number[]; data_offsets: [number, number] });
  }
  return { tensors, metadata, dataStart: 8 + headerLength };
}
