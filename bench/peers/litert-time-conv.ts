/**
 * Times LiteRT.js on one CONV_2D (3x3, SAME, with bias, fp32, batch 1) built
 * with our writer, at 1 and 2 threads: a check that the harness sees the
 * speeds in the project notes, and an example of using it as a bench peer.
 *
 *   npx vite-node bench/peers/litert-time-conv.ts [H W Cin Cout] [--repeat N]
 *   (or, after `npm run build`: node dist/bench/peers/litert-time-conv.js ...)
 *
 * Default shape: 64 64 320 320, the UNet's first-level convolution.
 */
import { parseFlagsAndPositionals, wholeNumber } from '../../src/cli/parse-flags.js';
import { runCli } from '../../src/cli/run-cli.js';
import { UsageError } from '../../src/errors.js';
import { TfliteModelBuilder } from '../../src/tflite/writer.js';
import { loadLiteRt } from './litert.js';

function randomBytes(count: number, seed: number): Uint8Array {
  const data = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return new Uint8Array(data.buffer);
}

function conv3x3Model(h: number, w: number, cin: number, cout: number): Uint8Array {
  const m = new TfliteModelBuilder();
  const x = m.main.addInput('x', 'FLOAT32', [1, h, w, cin]);
  const filter = m.main.addConstant('w', 'FLOAT32', [cout, 3, 3, cin], randomBytes(cout * 9 * cin, 1));
  const bias = m.main.addConstant('b', 'FLOAT32', [cout], randomBytes(cout, 2));
  const y = m.main.addTensor('y', 'FLOAT32', [1, h, w, cout]);
  m.main.addOperator('CONV_2D', [x, filter, bias], [y], { padding: 'SAME', strideH: 1, strideW: 1 });
  m.main.markOutput(y);
  return m.toBuffer();
}

const USAGE = `usage: node dist/bench/peers/litert-time-conv.js [H W Cin Cout] [--repeat N]

  H W Cin Cout  the convolution's input size and channels (default 64 64 320 320)
  --repeat N    timed runs per thread count (default 15)`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlagsAndPositionals(argv, {
    repeat: { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h' },
  }, USAGE);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const repeat = wholeNumber('--repeat', values.repeat);
  if (positionals.length !== 0 && positionals.length !== 4) throw new UsageError(`expected H W Cin Cout (4 numbers) or none, got ${positionals.length}\n${USAGE}`);
  const names = ['H', 'W', 'Cin', 'Cout'];
  const dims = positionals.length === 4 ? positionals.map((d, i) => wholeNumber(names[i]!, d)) : [64, 64, 320, 320];
  const [h, w, cin, cout] = dims as [number, number, number, number];
  const model = conv3x3Model(h, w, cin, cout);
  const input = new Float32Array(randomBytes(h * w * cin, 3).buffer);
  const gflop = (2 * h * w * cout * 9 * cin) / 1e9;
  console.log(`CONV_2D 3x3 ${h}x${w}x${cin}->${cout}: ${gflop.toFixed(2)} GFLOP, ${repeat} timed runs`);
  for (const threads of [1, 2] as const) {
    const rt = await loadLiteRt({ threads });
    try {
      const compiled = await rt.loadModel(model);
      const { ms, cpuMs } = await compiled.time([input], { warmup: 3, repeat });
      const sorted = [...ms].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const wall = ms.reduce((a, b) => a + b, 0);
      console.log(
        `  ${threads} thread(s): median ${median.toFixed(1)} ms (${(gflop / (median / 1000)).toFixed(1)} GFLOP/s), ` +
          `best ${sorted[0]!.toFixed(1)} ms (${(gflop / (sorted[0]! / 1000)).toFixed(1)} GFLOP/s), CPU/wall ${(cpuMs / wall).toFixed(2)}`,
      );
    } finally {
      await rt.close();
    }
  }
}

runCli(main);
