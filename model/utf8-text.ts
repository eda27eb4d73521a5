// Strings written one after another as UTF-8 into one growing buffer of their own, so a request's
// string columns cross to the writer thread as a transferred ArrayBuffer (no copy, no string on
// either heap until the writer decodes it once) instead of a string of many pieces that the
// structured clone had to flatten and copy, and that lived in V8's large-object space until a
// full GC (docs/benchmarks.md has what each cost).
import { rowBuffers } from './buffer-pool.ts';

/** Node's Buffer has utf8Write; @types/node omits it. */
interface Utf8Writable {
  utf8Write(s: string, offset: number): number;
}

export class Utf8Text {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes: number) {
    // Not from Buffer's shared pool (the buffer is transferred, and would take that pool along):
    // from the rows' own (buffer-pool.ts).
    this.buf = Buffer.from(rowBuffers.take(initialBytes));
  }

  /** Append `s` (its UTF-16 length is what a reader cuts by; a lone surrogate becomes U+FFFD, one unit too). */
  write(s: string): void {
    const n = s.length;
    if (this.pos + n * 3 > this.buf.length) this.grow(n * 3);
    const out = this.buf;
    const start = this.pos;
    // Most text is ASCII: a loop beats the call into utf8Write for strings this short.
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start + (out as unknown as Utf8Writable).utf8Write(s, start);
        return;
      }
      out[start + i] = c;
    }
    this.pos = start + n;
  }

  /** The bytes written (a view of the buffer, which can be transferred). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  private grow(atLeast: number): void {
    const next = Buffer.from(rowBuffers.take(Math.max(this.buf.length * 2, this.pos + atLeast)));
    this.buf.copy(next, 0, 0, this.pos);
    rowBuffers.give(this.buf.buffer as ArrayBuffer);
    this.buf = next;
  }
}

/** The text of bytes written by Utf8Text (decoded once, then cut by UTF-16 lengths). */
export function textOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
