// Locust's wait_time helpers. A wait time is a function of the user's pacing state returning the
// seconds to sleep after a task; "wait times apply to tasks, not requests" (Locust docs).

export interface PacingState {
  /** performance.now() when the task that just finished started. */
  taskStartedAt: number;
  /** performance.now() when it finished. */
  taskEndedAt: number;
}

export type WaitTime = (state: PacingState) => number;

/** A random time between min and max seconds, uniformly distributed. */
export function between(minSeconds: number, maxSeconds: number): WaitTime {
  if (!(minSeconds >= 0) || !(maxSeconds >= minSeconds)) {
    throw new RangeError(`between(${minSeconds}, ${maxSeconds}): need 0 <= min <= max seconds`);
  }
  return () => minSeconds + Math.random() * (maxSeconds - minSeconds);
}

/** Always the same number of seconds. */
export function constant(seconds: number): WaitTime {
  if (!(seconds >= 0)) throw new RangeError(`constant(${seconds}): need seconds >= 0`);
  return () => seconds;
}

/**
 * Start a task every `seconds` seconds whatever the task took: the wait is what is left of the
 * interval after the task ran (never negative; a task that overruns starts the next one at once).
 */
export function constantPacing(seconds: number): WaitTime {
  if (!(seconds > 0)) throw new RangeError(`constantPacing(${seconds}): need seconds > 0`);
  return ({ taskStartedAt, taskEndedAt }) => Math.max(0, seconds - (taskEndedAt - taskStartedAt) / 1000);
}

/** At most `tasksPerSecond` tasks per second per user (the inverse of constantPacing). */
export function constantThroughput(tasksPerSecond: number): WaitTime {
  if (!(tasksPerSecond > 0)) throw new RangeError(`constantThroughput(${tasksPerSecond}): need tasks per second > 0`);
  return constantPacing(1 / tasksPerSecond);
}
