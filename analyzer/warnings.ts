// Warnings about what a run's figures cannot show: the checks a reader must make before trusting
// them. They go into the report itself (JSON `warnings`), so every renderer shows the same words.

/** What a warning needs of an endpoint's report (analyze.ts EndpointReport). */
interface EndpointCounts {
  name: string;
  count: number;
  matched: number;
}

export interface Warning {
  /** Stable name, for scripts: 'no-server-data', 'endpoints-without-server-data', 'still-receiving'. */
  code: 'no-server-data' | 'endpoints-without-server-data' | 'still-receiving';
  message: string;
}

const WHAT_TO_CHECK =
  'check that the service is instrumented with OpenTelemetry, that it exports its spans to this receiver (the same --db), ' +
  'and that it continues the trace from the traceparent header (no proxy or gateway on the way drops it)';

/** No matched server span behind a run or some of its endpoints: the server and gap figures are null. */
export function serverDataWarnings(total: EndpointCounts, endpoints: EndpointCounts[]): Warning[] {
  if (total.count === 0) return [];
  if (total.matched === 0) {
    return [
      {
        code: 'no-server-data',
        message: `No server span matched any of the ${total.count} load-test requests, so the server and gap figures have no data (shown as –, null in JSON): ${WHAT_TO_CHECK}.`,
      },
    ];
  }
  const empty = endpoints.filter((ep) => ep.count > 0 && ep.matched === 0);
  if (empty.length === 0) return [];
  const names = empty.slice(0, 5).map((ep) => ep.name);
  const more = empty.length > names.length ? ` and ${empty.length - names.length} more` : '';
  return [
    {
      code: 'endpoints-without-server-data',
      message: `${empty.length} endpoint${empty.length === 1 ? ' has' : 's have'} no matched server span (${names.join(', ')}${more}), so their server and gap figures have no data: ${WHAT_TO_CHECK}.`,
    },
  ];
}

/** Spans of the run arrived moments ago: the exporters may still be sending, so figures may change. */
export function stillReceivingWarning(secondsAgo: number): Warning {
  return {
    code: 'still-receiving',
    message: `The last span of this run arrived ${secondsAgo.toFixed(1)} s ago: the run may still be receiving spans (exporters batch them, every 5 s by default), so its counts and coverage may still change. Analyse again in a few seconds.`,
  };
}
