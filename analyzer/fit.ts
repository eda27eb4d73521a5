// Least-squares fits for the findings: a straight line, and a "hinge" — flat up to a knee, then a
// straight line — which is how a queue behaves as load approaches a resource's capacity (the
// waiting time stays flat while there is headroom, then grows with every added unit of load).
// The knee is searched over the observed loads; each candidate is an ordinary weighted regression
// of y on max(0, x − knee), and the one with the least squared error wins.

export interface FitPoint {
  x: number;
  y: number;
  /** Weight: how many requests the point stands for. */
  w: number;
}

export interface LineFit {
  intercept: number;
  slope: number;
  /** Share of the (weighted) variance of y the fit explains, 0..1. */
  r2: number;
}

export interface HingeFit {
  /** y below the knee. */
  base: number;
  /** Growth of y per unit of x beyond the knee. */
  slope: number;
  /** The x where y starts to grow (the lowest x when it grows from the start). */
  knee: number;
  r2: number;
  xMin: number;
  xMax: number;
}

function regress(points: FitPoint[], h: (x: number) => number): { a: number; b: number; sse: number } | undefined {
  let sw = 0;
  let sh = 0;
  let sy = 0;
  for (const p of points) {
    sw += p.w;
    sh += p.w * h(p.x);
    sy += p.w * p.y;
  }
  if (sw <= 0) return undefined;
  const mh = sh / sw;
  const my = sy / sw;
  let shh = 0;
  let shy = 0;
  for (const p of points) {
    const dh = h(p.x) - mh;
    shh += p.w * dh * dh;
    shy += p.w * dh * (p.y - my);
  }
  if (shh <= 0) return undefined;
  const b = shy / shh;
  const a = my - b * mh;
  let sse = 0;
  for (const p of points) {
    const e = p.y - (a + b * h(p.x));
    sse += p.w * e * e;
  }
  return { a, b, sse };
}

function totalSquares(points: FitPoint[]): number {
  let sw = 0;
  let sy = 0;
  for (const p of points) {
    sw += p.w;
    sy += p.w * p.y;
  }
  const my = sy / sw;
  return points.reduce((s, p) => s + p.w * (p.y - my) ** 2, 0);
}

export function lineFit(points: FitPoint[]): LineFit | undefined {
  const r = regress(points, (x) => x);
  if (r === undefined) return undefined;
  const sst = totalSquares(points);
  return { intercept: r.a, slope: r.b, r2: sst > 0 ? Math.max(0, 1 - r.sse / sst) : 0 };
}

/** The best hinge over the observed x values (at least 3 distinct x beyond the knee). */
export function hingeFit(points: FitPoint[]): HingeFit | undefined {
  const xs = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  if (xs.length < 4) return undefined;
  const sst = totalSquares(points);
  let best: { a: number; b: number; sse: number; knee: number } | undefined;
  for (const knee of xs.slice(0, -2)) {
    const r = regress(points, (x) => Math.max(0, x - knee));
    if (r !== undefined && (best === undefined || r.sse < best.sse - 1e-12)) best = { ...r, knee };
  }
  if (best === undefined) return undefined;
  return {
    base: best.a,
    slope: best.b,
    knee: best.knee,
    r2: sst > 0 ? Math.max(0, 1 - best.sse / sst) : 0,
    xMin: xs[0] as number,
    xMax: xs[xs.length - 1] as number,
  };
}
