// The request-duration histogram, aggregated here and handed to the OTel SDK's metric reader as a
// MetricProducer, so the SDK's own OTLP metric exporter sends it.
//
// Why not `histogram.record()`: the SDK hashes the attribute set of every measurement (sorting
// its keys and JSON-encoding them) and reads the clock, per request. Here a request costs a Map
// lookup on a string key and a short bucket scan; the SDK's work happens once per export.
// The data is the same an SDK explicit-bucket histogram would export: counts per bucket (upper
// bounds inclusive), sum, count, min, max; cumulative unless the exporter asks for delta.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { defaultResource } from '@opentelemetry/resources';
import { Attr, Metric } from '../model/attributes.ts';

/** Bucket upper bounds (ms), inclusive, as the SDK's explicit-bucket aggregation counts them. */
export const DURATION_BOUNDARIES = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

interface Series {
  attributes: Attributes;
  counts: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface DurationKey {
  name: string;
  method: string;
  /** 0 when no response arrived. */
  status: number;
  errorType?: string;
}

export class DurationHistogram implements MetricProducer {
  readonly #series = new Map<string, Series>();
  readonly #scope: InstrumentationScope;
  readonly #temporality: AggregationTemporality;
  readonly #resource = defaultResource();
  #startTime: HrTime;

  constructor(scope: InstrumentationScope, temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE, now = Date.now()) {
    this.#scope = scope;
    this.#temporality = temporality;
    this.#startTime = millisToHrTime(now);
  }

  record(ms: number, key: DurationKey): void {
    if (Number.isNaN(ms)) return;
    const id = `${key.name}\u0000${key.method}\u0000${key.status}\u0000${key.errorType ?? ''}`;
    let series = this.#series.get(id);
    if (series === undefined) {
      const attributes: Attributes = { [Attr.REQUEST_NAME]: key.name, [Attr.HTTP_METHOD]: key.method, [Attr.HTTP_STATUS]: key.status };
      if (key.errorType !== undefined) attributes[Attr.ERROR_TYPE] = key.errorType;
      series = { attributes, counts: new Array<number>(DURATION_BOUNDARIES.length + 1).fill(0), count: 0, sum: 0, min: Infinity, max: -Infinity };
      this.#series.set(id, series);
    }
    let bucket = 0;
    while (bucket < DURATION_BOUNDARIES.length && ms > (DURATION_BOUNDARIES[bucket] as number)) bucket += 1;
    series.counts[bucket] = (series.counts[bucket] as number) + 1;
    series.count += 1;
    series.sum += ms;
    if (ms < series.min) series.min = ms;
    if (ms > series.max) series.max = ms;
  }

  /** Called by the metric reader at each export. Delta: what was recorded since the last one. */
  collect(): Promise<CollectionResult> {
    return Promise.resolve(this.snapshot());
  }

  snapshot(now = Date.now()): CollectionResult {
    const endTime = millisToHrTime(now);
    const dataPoints = [...this.#series.values()].map((s) => ({
      startTime: this.#startTime,
      endTime,
      attributes: s.attributes,
      value: { buckets: { boundaries: DURATION_BOUNDARIES, counts: [...s.counts] }, count: s.count, sum: s.sum, min: s.min, max: s.max },
    }));
    if (this.#temporality === AggregationTemporality.DELTA) {
      this.#series.clear();
      this.#startTime = endTime;
    }
    return {
      // The reader keeps the MeterProvider's resource; this one is never exported.
      resourceMetrics: {
        resource: this.#resource,
        scopeMetrics:
          dataPoints.length === 0
            ? []
            : [
                {
                  scope: this.#scope,
                  metrics: [
                    {
                      descriptor: { name: Metric.REQUEST_DURATION, description: 'Time from the start of a request to its last response byte', unit: 'ms', valueType: ValueType.DOUBLE },
                      aggregationTemporality: this.#temporality,
                      dataPointType: DataPointType.HISTOGRAM,
                      dataPoints,
                    },
                  ],
                },
              ],
      },
      errors: [],
    };
  }
}
