// The default span export path (generator/otlp-span-batches.ts) against a real OTLP/HTTP endpoint
// on port 0, through the SDK's own exporter transport: batches of OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
// the rest sent by flush, every span counted once as exported, failed or dropped, and the queue
// limit counting spans that are accepted but not yet confirmed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TraceFlags } from '@opentelemetry/api';
import { defaultResource } from '@opentelemetry/resources';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../generator/http-session.ts';
import { RequestSpan } from '../generator/otlp-request-span.ts';
import { SpanBatches } from '../generator/otlp-span-batches.ts';
import { EncodedSpansExporter } from '../generator/otlp-trace-exporter.ts';
import { decodeTracesProtobuf } from '../receiver/decode-protobuf.ts';

const resource = defaultResource();
const scope = { name: 'firstspan', version: '0.1.0' };

function span(i: number): RequestSpan {
  const outcome: RequestOutcome = {
    method: 'GET',
    name: '/',
    url: 'http://127.0.0.1:8080/',
    serverAddress: '127.0.0.1',
    serverPort: 8080,
    start: 1000 + i,
    end: 1000.5 + i,
    phases: { blocked: 0, dns: 0, connect: 0, tls: 0, sending: 0.1, waiting: 0.3, receiving: 0.1 },
    reused: true,
    status: 200,
    contentLength: 2,
  };
  const hex = (i + 1).toString(16).padStart(16, '0'); // never all zeros: an invalid id
  return new RequestSpan({ traceId: `${hex}${hex}`, spanId: `1${hex.slice(1)}`, traceFlags: TraceFlags.SAMPLED, isRemote: false }, 'U', 'run', outcome, resource, scope);
}

/** An OTLP/HTTP endpoint recording the span count of every export; `hold` delays its answers. */
async function endpoint(): Promise<{ url: string; batches: number[]; hold: () => void; release: () => void; close: () => Promise<void> }> {
  const batches: number[] = [];
  let held: Array<() => void> | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      batches.push(decodeTracesProtobuf(Buffer.concat(chunks)).spans);
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      };
      if (held) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    batches,
    hold: () => {
      held = [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('SpanBatches: spans encoded as they end, exported in batches', () => {
  it('sends full batches as they fill and the rest on flush; concurrent flushes both wait for it', async () => {
    const otlp = await endpoint();
    cleanups.push(otlp.close);
    const batches = new SpanBatches(new EncodedSpansExporter({ url: otlp.url }), resource, scope, { maxQueueSize: 10_000, maxExportBatchSize: 512, scheduledDelayMillis: 60_000, inFlight: 2 }, String);
    for (let i = 0; i < 1100; i++) batches.add(span(i));
    await Promise.all([batches.flush(), batches.flush()]);
    expect(otlp.batches.toSorted((a, b) => b - a)).toEqual([512, 512, 76]);
    expect({ exported: batches.exported, failed: batches.failed, dropped: batches.dropped }).toEqual({ exported: 1100, failed: 0, dropped: 0 });
    await batches.shutdown();
  });

  it('a batch that does not fill leaves after the schedule delay', async () => {
    const otlp = await endpoint();
    cleanups.push(otlp.close);
    const batches = new SpanBatches(new EncodedSpansExporter({ url: otlp.url }), resource, scope, { maxQueueSize: 10_000, maxExportBatchSize: 512, scheduledDelayMillis: 20, inFlight: 2 }, String);
    for (let i = 0; i < 3; i++) batches.add(span(i));
    await expect.poll(() => otlp.batches).toEqual([3]);
    expect(batches.exported).toBe(3);
    await batches.shutdown();
  });

  it('past the queue limit (spans accepted and not yet confirmed) a span is dropped and counted', async () => {
    const otlp = await endpoint();
    cleanups.push(otlp.close);
    otlp.hold();
    const batches = new SpanBatches(new EncodedSpansExporter({ url: otlp.url }), resource, scope, { maxQueueSize: 600, maxExportBatchSize: 100, scheduledDelayMillis: 60_000, inFlight: 2 }, String);
    for (let i = 0; i < 1000; i++) batches.add(span(i));
    expect(batches.dropped).toBe(400);
    const flushed = batches.flush();
    await expect.poll(() => otlp.batches.length).toBe(2); // two in flight, held; four waiting
    otlp.release();
    await flushed;
    expect({ exported: batches.exported, failed: batches.failed, dropped: batches.dropped }).toEqual({ exported: 600, failed: 0, dropped: 400 });
    expect(otlp.batches.reduce((a, b) => a + b, 0)).toBe(600);
    await batches.shutdown();
  });

  it('an endpoint that refuses the export makes its spans failed, with the reason', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(400).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
    const batches = new SpanBatches(new EncodedSpansExporter({ url }), resource, scope, { maxQueueSize: 1000, maxExportBatchSize: 50, scheduledDelayMillis: 60_000, inFlight: 2 }, (e) => String((e as Error).message ?? e));
    for (let i = 0; i < 120; i++) batches.add(span(i));
    await batches.flush();
    expect({ exported: batches.exported, failed: batches.failed }).toEqual({ exported: 0, failed: 120 });
    expect(batches.lastError).toMatch(/400|Bad Request/);
    await batches.shutdown();
  });
});
