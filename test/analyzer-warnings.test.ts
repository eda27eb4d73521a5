// The warnings a report carries about what its figures cannot show (analyzer/warnings.ts), checked
// in process against hand-built endpoint counts: when each appears, which endpoints it names, its
// singular and plural wording, the "and N more" past five names, and the still-receiving delay.
import { describe, expect, it } from 'vitest';
import { serverDataWarnings, stillReceivingWarning } from '../analyzer/warnings.ts';

const ep = (name: string, count: number, matched: number) => ({ name, count, matched });
const CHECKS = /check that the service is instrumented with OpenTelemetry, that it exports its spans to this receiver \(the same --db\), and that it continues the trace from the traceparent header/;

describe('server-data warnings', () => {
  it('says nothing about a run without requests, or with every endpoint matched', () => {
    expect(serverDataWarnings(ep('total', 0, 0), [ep('/a', 0, 0)])).toEqual([]);
    expect(serverDataWarnings(ep('total', 5, 5), [ep('/a', 3, 3), ep('/b', 2, 2)])).toEqual([]);
    // An endpoint with some matched requests is not "without server data".
    expect(serverDataWarnings(ep('total', 5, 1), [ep('/a', 3, 1), ep('/b', 2, 0)]).map((w) => w.code)).toEqual(['endpoints-without-server-data']);
    expect(serverDataWarnings(ep('total', 5, 4), [ep('/a', 3, 2), ep('/b', 2, 2)])).toEqual([]);
  });

  it('names the whole run when no server span matched, with the request count and what to check', () => {
    const [w, ...rest] = serverDataWarnings(ep('total', 12, 0), [ep('/a', 12, 0)]);
    expect(rest).toEqual([]);
    expect(w?.code).toBe('no-server-data');
    expect(w?.message).toMatch(/^No server span matched any of the 12 load-test requests, so the server and gap figures have no data \(shown as –, null in JSON\): /);
    expect(w?.message).toMatch(CHECKS);
    expect(w?.message.endsWith('drops it).')).toBe(true);
  });

  it('names one endpoint without server data in the singular', () => {
    const warnings = serverDataWarnings(ep('total', 7, 4), [ep('/a', 4, 4), ep('/b', 3, 0), ep('/idle', 0, 0)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('endpoints-without-server-data');
    expect(warnings[0]?.message).toMatch(/^1 endpoint has no matched server span \(\/b\), so their server and gap figures have no data: check that/);
    expect(warnings[0]?.message).toMatch(CHECKS);
  });

  it('lists up to five endpoints in their order, then says how many more', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `/e${i}`);
    const endpoints = (n: number) => [ep('/matched', 9, 9), ...names(n).map((name) => ep(name, 1, 0))];
    const message = (n: number) => serverDataWarnings(ep('total', 9 + n, 9), endpoints(n))[0]?.message ?? '';
    expect(message(2)).toMatch(/^2 endpoints have no matched server span \(\/e0, \/e1\), so/);
    expect(message(5)).toMatch(/^5 endpoints have no matched server span \(\/e0, \/e1, \/e2, \/e3, \/e4\), so/);
    expect(message(6)).toMatch(/^6 endpoints have no matched server span \(\/e0, \/e1, \/e2, \/e3, \/e4 and 1 more\), so/);
    expect(message(9)).toMatch(/^9 endpoints have no matched server span \(\/e0, \/e1, \/e2, \/e3, \/e4 and 4 more\), so/);
  });
});

describe('still-receiving warning', () => {
  it('gives the seconds since the last span to one decimal and says to analyse again', () => {
    const w = stillReceivingWarning(1.26);
    expect(w.code).toBe('still-receiving');
    expect(w.message).toBe(
      'The last span of this run arrived 1.3 s ago: the run may still be receiving spans (exporters batch them, every 5 s by default), ' +
        'so its counts and coverage may still change. Analyse again in a few seconds.',
    );
    expect(stillReceivingWarning(0).message).toMatch(/^The last span of this run arrived 0\.0 s ago:/);
  });
});
