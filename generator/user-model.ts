// The script model, after Locust: user classes extend HttpUser, tasks are methods chosen at random
// by weight, `waitTime` paces them, onStart/onStop frame a user's life, LoadTestShape drives the
// user count over time.
//
// Markers are stored under Symbol.for keys on the functions themselves rather than in a module-level
// registry, so a script that resolves another copy of this module still declares tasks the runner
// can see.
import type { HttpSession } from './http-session.ts';
import { constant, type WaitTime } from './wait-time.ts';

export const TASK_WEIGHT = Symbol.for('firstspan.task.weight');
export const USER_BRAND = Symbol.for('firstspan.HttpUser');
export const SHAPE_BRAND = Symbol.for('firstspan.LoadTestShape');

export type TaskFunction = (this: HttpUser) => unknown;
type TaskMethod = ((...args: never[]) => unknown) & { [TASK_WEIGHT]?: number };

/**
 * Mark a method as a task, `@task` or `@task(weight)` (TC39 standard decorators, as tsx compiles
 * them). Plain JavaScript uses `static tasks` instead.
 */
export function task(weight: number): <T extends TaskMethod>(value: T, context: ClassMethodDecoratorContext) => T;
export function task<T extends TaskMethod>(value: T, context: ClassMethodDecoratorContext): T;
export function task(weightOrMethod: number | TaskMethod, context?: ClassMethodDecoratorContext): unknown {
  if (typeof weightOrMethod === 'function') {
    markTask(weightOrMethod, 1, context);
    return weightOrMethod;
  }
  const weight = weightOrMethod;
  if (!(Number.isInteger(weight) && weight >= 1)) throw new RangeError(`@task(${weight}): the weight must be an integer >= 1`);
  return <T extends TaskMethod>(value: T, ctx: ClassMethodDecoratorContext): T => {
    markTask(value, weight, ctx);
    return value;
  };
}

function markTask(fn: TaskMethod, weight: number, context: ClassMethodDecoratorContext | undefined): void {
  if (context !== undefined && context.kind !== 'method') throw new TypeError('@task decorates methods only');
  fn[TASK_WEIGHT] = weight;
}

/** What a request made through `this.client` reports back, plus the user's identity. */
export interface UserContext {
  userId: number;
  userClass: string;
  runId: string;
  host: string;
}

/**
 * Base class of every virtual user. Each instance has its own HTTP connection(s), opened on its
 * first request and kept alive between its requests, as each Locust user has its own session.
 */
export class HttpUser {
  static readonly [USER_BRAND] = true;
  /** Relative share of users of this class when a script exports several. */
  static weight = 1;
  /** Default base URL; `--host` overrides it. */
  static host: string | undefined = undefined;
  /**
   * Decorator-free tasks: method names or functions, optionally with weights
   * (`[['browse', 3], 'checkout']`), or `{ browse: 3, checkout: 1 }`.
   */
  static tasks: TaskList | undefined = undefined;

  /** Pause between tasks; Locust's default is no pause. */
  waitTime: WaitTime = constant(0);
  /** Set by the runner before onStart. */
  declare client: HttpSession;
  declare context: UserContext;

  get host(): string {
    return this.context.host;
  }

  /** Called once when the user starts, before its first task (log in, say). */
  onStart(): void | Promise<void> {}
  /** Called once when the user stops. */
  onStop(): void | Promise<void> {}
}

export type TaskRef = string | TaskFunction;
export type TaskList = Array<TaskRef | [TaskRef, number]> | Record<string, number>;

export type UserClass = (new () => HttpUser) & {
  weight?: number;
  host?: string | undefined;
  tasks?: TaskList | undefined;
  name: string;
};

/** One step of a load shape: the user count to reach and how fast. */
export interface ShapeTick {
  users: number;
  spawnRate: number;
}

/**
 * Locust's LoadTestShape: `tick()` is called every second and returns the target user count and
 * spawn rate, or null to end the test.
 */
export class LoadTestShape {
  static readonly [SHAPE_BRAND] = true;
  /** Set by the runner: when the test started (performance.now()). */
  startedAt = 0;
  /** Seconds since the test started. */
  getRunTime(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
  tick(): ShapeTick | [number, number] | null {
    return null;
  }
}
