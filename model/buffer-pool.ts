// ArrayBuffers for the rows of the next requests (span-rows.ts), handed back by the writer thread
// after it has committed the rows they carried. Without it every request allocated its row
// buffers on the decoding thread and freed them on the writer thread, and the C allocator's heap
// on the decoding thread kept growing with the holes (about 20 MiB of the receiver's peak RSS,
// docs/benchmarks.md). Bounded: buffers beyond `maxBytes` in all are left to the garbage collector.
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private bytes = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** A buffer of at least `size` bytes (contents undefined): a pooled one not much larger, or a new one. */
  take(size: number): ArrayBuffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i]!;
      if (b.byteLength >= size && b.byteLength <= size * 4) {
        free[i] = free[free.length - 1]!;
        free.pop();
        this.bytes -= b.byteLength;
        return b;
      }
    }
    // Powers of two from 64 KiB, so buffers of similar requests fit each other.
    let rounded = 64 * 1024;
    while (rounded < size) rounded *= 2;
    return new ArrayBuffer(rounded);
  }

  /** Let go of every pooled buffer (a stopped receiver keeps none of the memory it pooled). */
  clear(): void {
    this.free.length = 0;
    this.bytes = 0;
  }

  /** Keep `buffer` for a later take (a detached or zero-length one is ignored). */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || this.bytes + buffer.byteLength > this.maxBytes) return;
    this.free.push(buffer);
    this.bytes += buffer.byteLength;
  }
}

/** The decoding thread's pool for span rows: enough for the requests one group commit holds. */
export const rowBuffers = new BufferPool(32 * 1024 * 1024);
