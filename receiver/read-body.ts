// Read a request body into memory, decompressing it (decoders/index.ts lists the encodings), with
// the size limit applied to the bytes on the wire *and* to the decompressed bytes
// (opentelemetry-proto v1.11 specification: "MUST limit request body size, including after
// decompression"). Decompression stops as soon as the output passes the limit, so a decompression
// bomb costs at most `limit` bytes of memory (plus one codec block) whatever the codec.
import type { Readable, Transform } from 'node:stream';
import { FirstspanError, type OtlpErrorCode } from '../model/errors.ts';
import { createDecoder, DecodedTooLarge, type ContentEncoding } from './decoders/index.ts';

export { supportedEncoding } from './decoders/index.ts';

export const BodyErrorKind = {
  TOO_LARGE: 'too_large',
  BAD_ENCODING: 'bad_encoding',
  UNSUPPORTED_ENCODING: 'unsupported_encoding',
  ABORTED: 'aborted',
  /** The receiver's budget of bytes in flight ran out while this body was arriving. */
  BUSY: 'busy',
} as const;
export type BodyErrorKind = (typeof BodyErrorKind)[keyof typeof BodyErrorKind];

/** The answer each kind gets (model/errors.ts). */
const CODES: Record<BodyErrorKind, OtlpErrorCode> = {
  too_large: 'FS_ERR_OTLP_TOO_LARGE',
  bad_encoding: 'FS_ERR_OTLP_DECODE',
  unsupported_encoding: 'FS_ERR_OTLP_MEDIA_TYPE',
  aborted: 'FS_ERR_OTLP_DECODE',
  busy: 'FS_ERR_OTLP_BUSY',
};

export class BodyError extends FirstspanError {
  readonly kind: BodyErrorKind;
  declare readonly code: OtlpErrorCode;
  constructor(kind: BodyErrorKind, message: string) {
    super(CODES[kind], message);
    this.name = 'BodyError';
    this.kind = kind;
  }
}

/**
 * Memory held by one body: `reserved` bytes are already counted against the receiver's in-flight
 * budget; `grow` asks for more when the decoded body outgrows them (chunked or compressed bodies).
 */
export interface BodyBudget {
  reserved: number;
  grow: (bytes: number, own: number) => boolean;
}

export function readBody(
  stream: Readable,
  encoding: ContentEncoding,
  limit: number,
  budget?: BodyBudget,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let decoded = 0;
    let inflater: Transform | undefined;
    let done = false;

    const fail = (error: BodyError): void => {
      if (done) return;
      done = true;
      cleanup();
      inflater?.destroy();
      // Discard the rest of the body (no 'data' listener is left) so the keep-alive connection
      // stays usable and the client reads our answer instead of a reset. Node's requestTimeout
      // bounds a client that never stops sending.
      stream.resume();
      reject(error);
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, decoded));
    };
    const tooLarge = (): BodyError =>
      new BodyError(BodyErrorKind.TOO_LARGE, `request body is larger than the limit of ${limit} bytes`);

    const onOutput = (chunk: Buffer): void => {
      decoded += chunk.length;
      if (decoded > limit) return fail(tooLarge());
      if (budget !== undefined && decoded > budget.reserved) {
        const more = Math.max(decoded - budget.reserved, 64 * 1024);
        if (!budget.grow(more, budget.reserved)) {
          return fail(new BodyError(BodyErrorKind.BUSY, 'too many request bytes in flight; retry later'));
        }
        budget.reserved += more;
      }
      chunks.push(chunk);
    };

    const onData = (chunk: Buffer): void => {
      if (done) return;
      wire += chunk.length;
      if (wire > limit) return fail(tooLarge());
      if (encoding === 'identity') return onOutput(chunk);
      if (inflater === undefined) {
        inflater = createDecoder(encoding, chunk, limit);
        inflater.on('data', onOutput);
        inflater.on('error', (e: Error) =>
          fail(
            e instanceof DecodedTooLarge
              ? new BodyError(BodyErrorKind.TOO_LARGE, e.message)
              : new BodyError(BodyErrorKind.BAD_ENCODING, `cannot decompress ${encoding} body: ${e.message}`),
          ),
        );
        inflater.on('end', finish);
      }
      // Backpressure: let the inflater drain before reading more from the socket.
      if (!inflater.write(chunk)) {
        stream.pause();
        inflater.once('drain', () => {
          if (!done) stream.resume();
        });
      }
    };
    const onEnd = (): void => {
      if (encoding === 'identity') finish();
      else if (inflater === undefined) finish(); // empty body
      else inflater.end();
    };
    const onAbort = (): void => fail(new BodyError(BodyErrorKind.ABORTED, 'client closed the connection mid-body'));
    const onError = (e: Error): void => fail(new BodyError(BodyErrorKind.ABORTED, `error reading body: ${e.message}`));
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('aborted', onAbort);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onClose = (): void => {
      // 'close' before 'end' means the body never fully arrived.
      if (!stream.readableEnded) onAbort();
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('aborted', onAbort);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
