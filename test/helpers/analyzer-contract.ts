// The analyzer's JSON contract (docs/analyzer.md, "JSON"), as a checker that lists every violation:
// the keys other parts and outside checks rely on, with their types and ranges. More keys are
// allowed; missing or mistyped ones are not.

type Problems = string[];

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isIso(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v));
}

function checkStats(v: unknown, at: string, p: Problems): void {
  if (typeof v !== 'object' || v === null) {
    p.push(`${at} is not an object`);
    return;
  }
  const s = v as Record<string, unknown>;
  for (const k of ['p50', 'p90', 'p99', 'max', 'mean']) {
    if (!isNumber(s[k])) p.push(`${at}.${k} is not a number`);
    else if ((s[k] as number) < 0) p.push(`${at}.${k} is negative`);
  }
  if (isNumber(s.p50) && isNumber(s.p90) && isNumber(s.p99) && isNumber(s.max)) {
    if (!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max)) p.push(`${at}: percentiles not ordered p50 ≤ p90 ≤ p99 ≤ max`);
  }
}

function checkEndpoint(v: unknown, at: string, p: Problems): void {
  if (typeof v !== 'object' || v === null) {
    p.push(`${at} is not an object`);
    return;
  }
  const e = v as Record<string, unknown>;
  if (typeof e.name !== 'string') p.push(`${at}.name is not a string`);
  for (const k of ['count', 'matched', 'errors']) {
    if (!Number.isInteger(e[k]) || (e[k] as number) < 0) p.push(`${at}.${k} is not a non-negative integer`);
  }
  if (Number.isInteger(e.matched) && Number.isInteger(e.count) && (e.matched as number) > (e.count as number)) p.push(`${at}: matched > count`);
  checkStats(e.clientMs, `${at}.clientMs`, p);
  // A figure with no data behind it (no matched server span) is null, never 0.
  for (const k of ['serverMs', 'gapMs']) if (e[k] !== null) checkStats(e[k], `${at}.${k}`, p);
  if (e.matched === 0) for (const k of ['serverMs', 'gapMs', 'phasesMs']) if (e[k] !== null) p.push(`${at}.${k} is not null though nothing matched`);
  if (typeof e.phasesMs !== 'object') p.push(`${at}.phasesMs is not an object or null`);
}

/** Every violation of the contract in `doc`; empty when it conforms. */
export function contractViolations(doc: unknown): string[] {
  const p: Problems = [];
  if (typeof doc !== 'object' || doc === null) return ['document is not an object'];
  const d = doc as Record<string, unknown>;
  if (d.schemaVersion !== 1) p.push('schemaVersion is not 1');
  if (!Array.isArray(d.runs)) return [...p, 'runs is not an array'];
  for (const [i, r] of (d.runs as unknown[]).entries()) {
    const at = `runs[${i}]`;
    if (typeof r !== 'object' || r === null) {
      p.push(`${at} is not an object`);
      continue;
    }
    const run = r as Record<string, unknown>;
    if (typeof run.service !== 'string') p.push(`${at}.service is not a string`);
    if (!('runId' in run) || (run.runId !== null && typeof run.runId !== 'string')) p.push(`${at}.runId is not a string or null`);
    if (!isIso(run.start)) p.push(`${at}.start is not an ISO-8601 time`);
    if (!isIso(run.end)) p.push(`${at}.end is not an ISO-8601 time`);
    for (const k of ['rootSpans', 'matched', 'backgroundServerSpans']) {
      if (!Number.isInteger(run[k]) || (run[k] as number) < 0) p.push(`${at}.${k} is not a non-negative integer`);
    }
    if (!isNumber(run.propagationCoverage) || run.propagationCoverage < 0 || run.propagationCoverage > 1) {
      p.push(`${at}.propagationCoverage is not in 0..1`);
    } else if (Number.isInteger(run.rootSpans) && (run.rootSpans as number) > 0 && Math.abs(run.propagationCoverage - (run.matched as number) / (run.rootSpans as number)) > 1e-12) {
      p.push(`${at}.propagationCoverage is not matched / rootSpans`);
    }
    if (!Array.isArray(run.clockOffsets)) p.push(`${at}.clockOffsets is not an array`);
    else {
      for (const [j, o] of (run.clockOffsets as unknown[]).entries()) {
        const off = o as Record<string, unknown>;
        if (typeof off.service !== 'string') p.push(`${at}.clockOffsets[${j}].service is not a string`);
        if (!isNumber(off.offsetMs)) p.push(`${at}.clockOffsets[${j}].offsetMs is not a number`);
        if (!Number.isInteger(off.samples)) p.push(`${at}.clockOffsets[${j}].samples is not an integer`);
      }
    }
    checkEndpoint(run.total, `${at}.total`, p);
    if (!Array.isArray(run.endpoints)) p.push(`${at}.endpoints is not an array`);
    else for (const [j, e] of (run.endpoints as unknown[]).entries()) checkEndpoint(e, `${at}.endpoints[${j}]`, p);
  }
  return p;
}
