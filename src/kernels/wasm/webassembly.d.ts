// The few WebAssembly JS API types the kernels use. The project compiles
// against lib ES2022 + @types/node, neither of which declares them (only
// TypeScript's DOM and WebWorker libs do). If the DOM lib is ever added to
// tsconfig.json, delete this file.
declare namespace WebAssembly {
  type ImportValue = Memory | ((...args: never[]) => unknown) | number;
  type Imports = Record<string, Record<string, ImportValue>>;

  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }

  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }

  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }

  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }

  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
