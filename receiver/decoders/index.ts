// Every Content-Encoding the receiver reads: the ones the OpenTelemetry Collector's otlphttp
// exporter can send (go.opentelemetry.io/collector/config/configcompression: gzip, zlib, deflate,
// snappy, x-snappy-framed, zstd, lz4) and identity. gzip and zlib/deflate use node:zlib's streams;
// the others are push decoders (push-decoder.ts) wrapped in a Transform that counts the output and
// stops at the limit, so no codec can be used as a decompression bomb.
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { lz4Decoder } from './lz4.ts';
import { DecodedTooLarge, type PushDecoder } from './push-decoder.ts';
import { snappyDecoder, snappyFramedDecoder } from './snappy.ts';
import { zstdDecoder } from './zstd.ts';

export { DecodedTooLarge } from './push-decoder.ts';

export const CONTENT_ENCODINGS = ['gzip', 'zstd', 'snappy', 'x-snappy-framed', 'zlib', 'deflate', 'lz4'] as const;
export type ContentEncoding = 'identity' | (typeof CONTENT_ENCODINGS)[number];

/** The encoding a Content-Encoding header names, or undefined when the receiver cannot read it. */
export function supportedEncoding(header: string | undefined): ContentEncoding | undefined {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'x-gzip') return 'gzip';
  return (CONTENT_ENCODINGS as readonly string[]).includes(value) ? (value as ContentEncoding) : undefined;
}

/** A stream from compressed bytes to at most `limit` decompressed bytes (DecodedTooLarge past it). */
export function createDecoder(encoding: Exclude<ContentEncoding, 'identity'>, first: Buffer, limit: number): Transform {
  switch (encoding) {
    case 'gzip':
      return zlib.createGunzip();
    case 'zlib':
      return zlib.createInflate();
    case 'deflate':
      return deflateInflater(first);
    case 'zstd':
      return new LimitedDecoder(zstdDecoder(limit), limit);
    case 'snappy':
      return new LimitedDecoder(snappyDecoder(limit), limit);
    case 'x-snappy-framed':
      return new LimitedDecoder(snappyFramedDecoder(), limit);
    case 'lz4':
      return new LimitedDecoder(lz4Decoder(), limit);
  }
}

/**
 * "deflate" means zlib-wrapped deflate (RFC 9110), but some clients send raw deflate; the zlib
 * header's first byte has 8 (deflate) in its low nibble, which a raw stream's first byte rarely does.
 */
function deflateInflater(first: Buffer): Transform {
  const b0 = first[0] ?? 0;
  const b1 = first[1] ?? 0;
  const zlibHeader = (b0 & 0x0f) === 8 && ((b0 << 8) | b1) % 31 === 0;
  return zlibHeader ? zlib.createInflate() : zlib.createInflateRaw();
}

class LimitedDecoder extends Transform {
  private produced = 0;
  private readonly decoder: PushDecoder;
  private readonly limit: number;
  private readonly out = (data: Uint8Array): void => {
    if (data.length === 0) return;
    this.produced += data.length;
    if (this.produced > this.limit) {
      throw new DecodedTooLarge(`request body is larger than the limit of ${this.limit} bytes after decompression`);
    }
    this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  };

  constructor(decoder: PushDecoder, limit: number) {
    super();
    this.decoder = decoder;
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk, this.out);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.end(this.out);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** Decode a whole body at once (the gRPC listener gets each message whole). */
export function decodeWhole(encoding: Exclude<ContentEncoding, 'identity'>, body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = createDecoder(encoding, body, limit);
    const chunks: Buffer[] = [];
    let size = 0;
    decoder.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        decoder.destroy();
        reject(new DecodedTooLarge(`message is larger than the limit of ${limit} bytes after decompression`));
        return;
      }
      chunks.push(chunk);
    });
    decoder.on('error', reject);
    decoder.on('end', () => resolve(Buffer.concat(chunks, size)));
    decoder.end(body);
  });
}
