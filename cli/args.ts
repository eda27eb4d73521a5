// Flag parsing shared by every command: node:util parseArgs in strict mode, with every problem
// collected into one list (report every config problem at once, with the fix).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parseFlags(argv: string[], options: OptionSpec, allowPositionals = false): Parsed | { error: string } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** A list of config problems, each saying what to fix. */
export class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    // The same mistake found twice (one env variable read for traces and metrics) is listed once.
    if (!this.list.includes(message)) this.list.push(message);
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  format(command: string): string {
    return `firstspan ${command}: ${this.list.length === 1 ? 'a problem' : `${this.list.length} problems`} with the options:\n${this.list.map((p) => `  - ${p}`).join('\n')}\nRun 'firstspan ${command} --help' for usage.\n`;
  }
}

/** Parse a number flag; record a problem and return undefined when it is not one. */
export function numberFlag(
  problems: Problems,
  flag: string,
  raw: string | undefined,
  opts: { min?: number; integer?: boolean } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    const kind = opts.integer ? 'an integer' : 'a number';
    problems.add(`${flag} must be ${kind}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got '${raw}'`);
    return undefined;
  }
  return n;
}

/** Parse a duration like Locust's --run-time: 90, 90s, 5m, 1h30m, 1.5s, 250ms. Returns milliseconds. */
export function parseDuration(raw: string): number | undefined {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = Number(m[1]);
    const unit = m[2];
    total += value * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1);
    matched = re.lastIndex;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}
