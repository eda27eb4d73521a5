// The receiver's record of refused requests (receiver/refusals.ts): kinds, the shutdown summary,
// and the log lines it rate-limits per kind — driven with its own clock and log hooks.
import { describe, expect, it } from 'vitest';
import { RefusalLog, type Refusal } from '../receiver/refusals.ts';

const busy: Refusal = { transport: 'gRPC', status: 'UNAVAILABLE', message: 'busy', client: '127.0.0.1:5000' };
const media: Refusal = { transport: 'HTTP', status: '415', reason: 'FS_ERR_OTLP_MEDIA_TYPE', message: 'send protobuf or JSON', client: '127.0.0.1:6000' };

describe('RefusalLog', () => {
  it('counts refusals by transport, status and reason, most frequent first, and sums them up', () => {
    const refusals = new RefusalLog();
    expect(refusals.summary()).toBe('0 refused requests');
    refusals.record(media);
    expect(refusals.summary()).toBe('1 refused request (1 × HTTP 415 FS_ERR_OTLP_MEDIA_TYPE)');
    refusals.record(busy);
    refusals.record(busy);
    refusals.record({ ...busy, status: 'RESOURCE_EXHAUSTED' });
    expect(refusals.total).toBe(4);
    expect(refusals.counts()).toEqual([
      { kind: 'gRPC UNAVAILABLE', count: 2 },
      { kind: 'HTTP 415 FS_ERR_OTLP_MEDIA_TYPE', count: 1 },
      { kind: 'gRPC RESOURCE_EXHAUSTED', count: 1 },
    ]);
    expect(refusals.summary()).toBe('4 refused requests (2 × gRPC UNAVAILABLE, 1 × HTTP 415 FS_ERR_OTLP_MEDIA_TYPE, 1 × gRPC RESOURCE_EXHAUSTED)');
  });

  it('orders kinds of equal count by name, whatever order they came in', () => {
    const refusals = new RefusalLog();
    for (const status of ['UNAVAILABLE', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNAUTHENTICATED']) refusals.record({ ...busy, status });
    refusals.record(media);
    refusals.record(media);
    expect(refusals.counts().map((c) => c.kind)).toEqual([
      'HTTP 415 FS_ERR_OTLP_MEDIA_TYPE',
      'gRPC INVALID_ARGUMENT',
      'gRPC RESOURCE_EXHAUSTED',
      'gRPC UNAUTHENTICATED',
      'gRPC UNAVAILABLE',
    ]);
  });

  it('logs the first refusal of a kind at once, then at most one line a kind per interval, saying how many it left out', () => {
    let now = 0;
    const lines: string[] = [];
    const refusals = new RefusalLog({ log: (l) => lines.push(l), intervalMs: 5000, now: () => now });
    refusals.record(busy);
    expect(lines).toEqual([
      'firstspan receiver: refused a request from 127.0.0.1:5000 with gRPC UNAVAILABLE: busy (further gRPC UNAVAILABLE refusals are logged at most once every 5 s)',
    ]);
    now = 1000;
    refusals.record(busy);
    refusals.record(media); // another kind: logged at once
    now = 4999;
    refusals.record(busy);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('with HTTP 415 FS_ERR_OTLP_MEDIA_TYPE: send protobuf or JSON (further');
    now = 5000;
    refusals.record(busy);
    expect(lines[2]).toBe('firstspan receiver: refused a request from 127.0.0.1:5000 with gRPC UNAVAILABLE: busy (2 more gRPC UNAVAILABLE refusals since the last such line)');
    now = 10_000;
    refusals.record(busy);
    expect(lines[3]).toBe('firstspan receiver: refused a request from 127.0.0.1:5000 with gRPC UNAVAILABLE: busy');
    expect(refusals.total).toBe(6);
  });
});
