/**
 * The .tflite corpus of test/fixtures/tflite-corpus/ (models from Google's
 * converter with the inputs and outputs LiteRT.js gave): its manifest, and
 * the runs to replay.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The corpus folder, ending in a path separator (manifest paths are relative to it). */
export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/tflite-corpus/', import.meta.url));

export interface CorpusRun {
  signature: string | null;
  litert: { status: string };
  inputs: string[];
  input_details: Array<{ name: string; dtype: string; shape: number[] }>;
  outputs: Array<{ name: string; dtype: string; shape: number[]; file: string }>;
}

export interface CorpusModel {
  id: string;
  file: string;
  /** Builtin op name -> count. */
  ops: Record<string, number>;
  runs: CorpusRun[];
}

export const corpusModels = (JSON.parse(readFileSync(CORPUS_DIR + 'manifest.json', 'utf8')) as { models: CorpusModel[] }).models;

/** The runs of `models` that LiteRT.js completed, each labelled "<model id> <signature or default>". */
export function completedRuns(models: readonly CorpusModel[]): Array<{ model: CorpusModel; run: CorpusRun; label: string }> {
  return models.flatMap((model) =>
    model.runs.filter((r) => r.litert.status === 'ok').map((run) => ({ model, run, label: `${model.id} ${run.signature ?? 'default'}` })),
  );
}
