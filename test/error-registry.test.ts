// The error registry (model/errors.ts) and its documentation (docs/errors.md) say the same thing:
// every code is documented with its HTTP and gRPC status, and the docs list no code that is gone.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ErrorCodes, errorMessage, FirstspanError, GrpcStatus, type ErrorCode } from '../model/errors.ts';

const DOC = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const GRPC_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, value]) => [value, name]));

/** The rows of the docs' table: code → [HTTP, gRPC] as written. */
function documented(): Map<string, { http: string; grpc: string }> {
  const rows = new Map<string, { http: string; grpc: string }>();
  for (const line of DOC.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`(FS_ERR_\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (code === undefined) continue;
    expect(rows.has(code), `${code} is documented twice`).toBe(false);
    rows.set(code, { http: cells[2] ?? '', grpc: cells[3] ?? '' });
  }
  return rows;
}

describe('error registry', () => {
  it('docs/errors.md documents every code with the registered HTTP and gRPC status, and no stale code', () => {
    const docs = documented();
    const codes = Object.keys(ERRORS) as ErrorCode[];
    expect([...docs.keys()].sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const row = ERRORS[code];
      expect(docs.get(code), code).toEqual({
        http: row.http === null ? '—' : String(row.http),
        grpc: row.grpc === null ? '—' : GRPC_NAMES.get(row.grpc),
      });
    }
  });

  it('an error that reaches a client has both statuses; one that does not has neither', () => {
    for (const [code, row] of Object.entries(ERRORS)) {
      expect(row.http === null, code).toBe(row.grpc === null);
    }
  });

  it('fills a template by name and keeps the code', () => {
    const error = FirstspanError.of('FS_ERR_OTLP_TOO_LARGE', { size: 70, limit: 64 });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('FS_ERR_OTLP_TOO_LARGE');
    expect(error.message).toBe('request body of 70 bytes is larger than the limit of 64 bytes');
    // A value that looks like a placeholder is inserted as it is, not filled again.
    expect(errorMessage('FS_ERR_OTLP_BUSY', { what: '{what}' })).toBe('{what}; retry later');
  });

  it('names each code by its short name', () => {
    expect(ErrorCodes.STORE_OPEN).toBe('FS_ERR_STORE_OPEN');
    expect(Object.values(ErrorCodes).sort()).toEqual(Object.keys(ERRORS).sort());
  });
});
