/**
 * A pool of worker threads that run the WebAssembly kernels on one shared
 * memory. `run(name, args)` calls the kernel export `name(...args, thread,
 * threads)` on every thread at once, the main thread being thread 0, and
 * returns when all are done. Jobs are handed over through a shared Int32Array
 * with Atomics.notify/wait (a short spin first), not a message per job.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { SdError, UsageError } from '../../errors.js';
import { WORKER_SOURCE } from './worker-source.js';

/** Slots of the control array. */
const SLOT = { generation: 0, job: 1, argc: 2, remaining: 3, failed: 4 } as const;
const CONTROL_SLOTS = 5;
const MAX_ARGS = 32;
/** Polls of a changed slot before sleeping in Atomics.wait (a few microseconds). */
const SPINS = 2000;

type KernelFunction = (...args: number[]) => unknown;

export interface WorkerPoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The main thread's instance of `module` on `memory`. */
  exports: Record<string, unknown>;
  /** Threads including the main thread (>= 1). */
  threads: number;
}

export class WorkerPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  private readonly args = new Float64Array(new SharedArrayBuffer(MAX_ARGS * 8));
  private readonly names: string[];
  private readonly fns: KernelFunction[];
  private readonly workers: Worker[] = [];
  private readonly errorPorts: MessagePort[] = [];
  private busy = false;
  private closed = false;

  private constructor(readonly threads: number, exports: Record<string, unknown>) {
    this.names = Object.keys(exports).filter((name) => typeof exports[name] === 'function');
    this.fns = this.names.map((name) => exports[name] as KernelFunction);
  }

  /** Starts threads - 1 workers and waits until each has instantiated the module. */
  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const { threads } = options;
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
    const pool = new WorkerPool(threads, options.exports);
    const started: Promise<void>[] = [];
    for (let thread = 1; thread < threads; thread++) {
      const channel = new MessageChannel();
      channel.port1.unref();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          module: options.module,
          memory: options.memory,
          control: pool.control.buffer,
          argBuffer: pool.args.buffer,
          names: pool.names,
          thread,
          threads,
          spins: SPINS,
          slot: SLOT,
          errorPort: channel.port2,
        },
        transferList: [channel.port2],
      });
      pool.workers.push(worker);
      pool.errorPorts.push(channel.port1);
      started.push(
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', (error) => reject(new SdError(`kernel worker ${thread} failed to start: ${error.message}`)));
        }),
      );
    }
    try {
      await Promise.all(started);
    } catch (error) {
      await pool.close();
      throw error;
    }
    // Idle workers sleep in Atomics.wait; they must not keep the process alive.
    for (const worker of pool.workers) worker.unref();
    return pool;
  }

  /** Runs kernel `name(...args, thread, threads)` on all threads; returns when every thread is done. */
  run(name: string, args: readonly number[]): void {
    const job = this.names.indexOf(name);
    if (job < 0) throw new UsageError(`no kernel named ${name} in the kernels module (if build/wasm is older than the code, run npm run build)`);
    if (args.length > MAX_ARGS) throw new UsageError(`kernel ${name}: at most ${MAX_ARGS} arguments`);
    if (this.closed) throw new UsageError('worker pool is closed');
    const fn = this.fns[job]!;
    if (this.threads === 1) {
      fn(...args, 0, 1);
      return;
    }
    if (this.busy) throw new UsageError('worker pool is already running a job');
    this.busy = true;
    const ctrl = this.control;
    try {
      this.args.set(args);
      Atomics.store(ctrl, SLOT.job, job);
      Atomics.store(ctrl, SLOT.argc, args.length);
      Atomics.store(ctrl, SLOT.failed, 0);
      Atomics.store(ctrl, SLOT.remaining, this.threads - 1);
      Atomics.add(ctrl, SLOT.generation, 1);
      Atomics.notify(ctrl, SLOT.generation);
      let mainError: unknown;
      try {
        fn(...args, 0, this.threads);
      } catch (error) {
        mainError = error;
      }
      this.waitForWorkers();
      if (mainError !== undefined) throw mainError;
      if (Atomics.load(ctrl, SLOT.failed)) throw new SdError(`kernel ${name} failed in a worker: ${this.workerErrors()}`);
    } finally {
      this.busy = false;
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, SLOT.job, -1);
    Atomics.add(this.control, SLOT.generation, 1);
    Atomics.notify(this.control, SLOT.generation);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    for (const port of this.errorPorts) port.close();
  }

  private waitForWorkers(): void {
    const ctrl = this.control;
    let n = 0;
    for (;;) {
      const remaining = Atomics.load(ctrl, SLOT.remaining);
      if (remaining === 0) return;
      if (++n > SPINS) Atomics.wait(ctrl, SLOT.remaining, remaining);
    }
  }

  private workerErrors(): string {
    const messages: string[] = [];
    for (const port of this.errorPorts) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) messages.push(String(m.message));
    }
    return messages.join('; ') || 'no message';
  }
}
