// What a load-test script imports: `import { HttpUser, task, between } from 'firstspan'`.
// package.json's `exports` points here; the runner also maps the bare name `firstspan` to this
// file for scripts outside any project that installed it (see script-loader.ts).
export { HttpUser, LoadTestShape, task } from './user-model.ts';
export type { ShapeTick, TaskList, UserContext } from './user-model.ts';
export { between, constant, constantPacing, constantThroughput } from './wait-time.ts';
export type { WaitTime } from './wait-time.ts';
export { Response } from './http-session.ts';
export type { HttpSession, RequestOptions } from './http-session.ts';
