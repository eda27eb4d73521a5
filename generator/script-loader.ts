// Load a user's script (.ts or .js, run as it is: tsx is registered by bin/firstspan.js) and find
// its user classes and optional load shape. A script that does not load says where (file:line).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, FirstspanError } from '../model/errors.ts';
import { SHAPE_BRAND, TASK_WEIGHT, USER_BRAND, type LoadTestShape, type TaskFunction, type UserClass } from './user-model.ts';

export interface ScriptTask {
  name: string;
  weight: number;
  fn: TaskFunction;
}

export interface LoadedUserClass {
  name: string;
  weight: number;
  host: string | undefined;
  tasks: ScriptTask[];
  create: () => InstanceType<UserClass>;
}

export interface LoadedScript {
  file: string;
  userClasses: LoadedUserClass[];
  shape: (new () => LoadTestShape) | undefined;
}

let hookRegistered = false;

function registerResolveHook(): void {
  if (hookRegistered) return;
  hookRegistered = true;
  register(new URL('./script-resolve-hook.mjs', import.meta.url), {
    data: { apiUrl: new URL('./script-api.ts', import.meta.url).href },
  });
}

/** file:line:column of the first place in `error` that points into the script. */
export function locate(error: unknown, file: string): string {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  const url = pathToFileURL(file).href;
  for (const candidate of [`${url}?firstspan-script=1`, url, file]) {
    const at = text.indexOf(candidate + ':');
    if (at >= 0) {
      const m = /^:(\d+)(?::(\d+))?/.exec(text.slice(at + candidate.length));
      if (m) return `${file}:${m[1]}${m[2] ? `:${m[2]}` : ''}`;
    }
  }
  return file;
}

/**
 * V8 keeps the position of a syntax error in an ES module out of the error's text; esbuild (which
 * tsx already brings) parses the file again to say where it is.
 */
async function syntaxErrorLocation(file: string): Promise<string | undefined> {
  try {
    const esbuild = (await import('esbuild')) as { transform: (code: string, options: object) => Promise<unknown> };
    await esbuild.transform(await readFile(file, 'utf8'), { loader: 'js', format: 'esm', sourcefile: file });
  } catch (error) {
    const location = (error as { errors?: Array<{ location?: { line: number; column: number } }> }).errors?.[0]?.location;
    if (location) return `${file}:${location.line}:${location.column}`;
  }
  return undefined;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Transform failed'))?.trim() ?? message;
  // esbuild repeats the location ("/x.ts:6:0: ERROR: …"); it is already in front of the message.
  return line.replace(/^\S+:\d+:\d+: (ERROR: )?/, '');
}

function isUserClass(value: unknown): value is UserClass {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[USER_BRAND] === true;
}

/** Tasks of a user class: decorated methods up the prototype chain, or the static `tasks` list. */
export function collectTasks(cls: UserClass, file: string): ScriptTask[] {
  const problem = (what: string): FirstspanError =>
    new FirstspanError(ErrorCodes.SCRIPT_LOAD, `${file}: user class ${cls.name}: ${what}`);
  const tasks: ScriptTask[] = [];
  if (cls.tasks !== undefined && cls.tasks !== null) {
    const proto = cls.prototype as unknown as Record<string, unknown>;
    const resolveRef = (ref: unknown): ScriptTask['fn'] & { name: string } => {
      if (typeof ref === 'function') return ref as TaskFunction;
      if (typeof ref === 'string' && typeof proto[ref] === 'function') return proto[ref] as TaskFunction;
      throw problem(`static tasks names '${String(ref)}', which is not a method of the class`);
    };
    const add = (ref: unknown, weight: unknown): void => {
      if (!(Number.isInteger(weight) && (weight as number) >= 1)) throw problem(`task weight must be an integer >= 1, got ${String(weight)}`);
      const fn = resolveRef(ref);
      tasks.push({ name: typeof ref === 'string' ? ref : fn.name || 'task', weight: weight as number, fn });
    };
    if (Array.isArray(cls.tasks)) {
      for (const item of cls.tasks) {
        if (Array.isArray(item)) add(item[0], item[1]);
        else add(item, 1);
      }
    } else if (typeof cls.tasks === 'object') {
      for (const [key, weight] of Object.entries(cls.tasks)) add(key, weight);
    } else {
      throw problem('static tasks must be an array or an object of method names to weights');
    }
    return tasks;
  }
  const seen = new Set<string>();
  for (let proto = cls.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (seen.has(key) || key === 'constructor') continue;
      seen.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      const fn = descriptor?.value as (TaskFunction & { [TASK_WEIGHT]?: number }) | undefined;
      if (typeof fn === 'function' && fn[TASK_WEIGHT] !== undefined) tasks.push({ name: key, weight: fn[TASK_WEIGHT], fn });
    }
  }
  return tasks;
}

/**
 * Where a script that exports no user class went wrong, read from its source: classes that extend
 * HttpUser but are not exported, and exported classes that extend something else, each with its
 * file:line. A heuristic over the text (the module has loaded, so the text is valid), only used to
 * make the error point somewhere.
 */
async function classesNotUsable(file: string): Promise<Array<{ where: string; why: string }>> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const found: Array<{ where: string; why: string }> = [];
  const lines = source.split('\n');
  for (const [i, line] of lines.entries()) {
    const m = /^\s*(export\s+(?:default\s+)?)?class\s+([A-Za-z_$][\w$]*)(?:\s+extends\s+([\w$.]+))?/.exec(line);
    if (m === null) continue;
    const [, exported, name, base] = m;
    const where = `${file}:${i + 1}`;
    if (base === 'HttpUser' && exported === undefined) found.push({ where, why: `class ${name} extends HttpUser but is not exported: write export class ${name}` });
    else if (exported !== undefined && base !== 'HttpUser' && base !== 'LoadTestShape') {
      found.push({ where, why: `class ${name} is exported but extends ${base ?? 'nothing'}, not HttpUser (from 'firstspan')` });
    }
  }
  return found;
}

export async function loadScript(scriptPath: string, cwd: string): Promise<LoadedScript> {
  const file = path.resolve(cwd, scriptPath);
  if (!existsSync(file)) throw new FirstspanError(ErrorCodes.SCRIPT_LOAD, `script not found: ${file}`);
  registerResolveHook();
  let module: Record<string, unknown>;
  try {
    // The marker makes the resolve hook load the script as an ES module wherever it lives.
    module = (await import(`${pathToFileURL(file).href}?firstspan-script=1`)) as Record<string, unknown>;
  } catch (error) {
    let where = locate(error, file);
    if (where === file && error instanceof SyntaxError) where = (await syntaxErrorLocation(file)) ?? file;
    throw new FirstspanError(ErrorCodes.SCRIPT_LOAD, `cannot load script ${where}: ${firstLine(error)}`, { cause: error });
  }
  const userClasses: LoadedUserClass[] = [];
  let shape: LoadedScript['shape'];
  for (const [exportName, value] of Object.entries(module)) {
    if (isUserClass(value)) {
      // The base class itself (re-exported by a script) is not a user class.
      if (Object.getPrototypeOf(value) === Function.prototype || exportName === 'HttpUser') continue;
      const weight = value.weight ?? 1;
      if (!(Number.isInteger(weight) && weight >= 0)) {
        throw new FirstspanError(ErrorCodes.SCRIPT_LOAD, `${file}: user class ${value.name}: static weight must be an integer >= 0, got ${weight}`);
      }
      const tasks = collectTasks(value, file);
      if (tasks.length === 0) {
        throw new FirstspanError(
          ErrorCodes.SCRIPT_LOAD,
          `${file}: user class ${value.name} has no tasks: mark methods with @task, or list them in static tasks = ['method', ...]`,
        );
      }
      userClasses.push({ name: value.name || exportName, weight, host: value.host ?? undefined, tasks, create: () => new value() });
    } else if (typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[SHAPE_BRAND] === true && exportName !== 'LoadTestShape') {
      if (shape !== undefined) throw new FirstspanError(ErrorCodes.SCRIPT_LOAD, `${file}: exports more than one LoadTestShape class`);
      shape = value as unknown as new () => LoadTestShape;
    }
  }
  if (userClasses.length === 0) {
    const near = await classesNotUsable(file);
    throw new FirstspanError(
      ErrorCodes.SCRIPT_LOAD,
      `${file}: exports no user class; export a class that extends HttpUser (import { HttpUser, task } from 'firstspan')` +
        near.map((c) => `\n  ${c.where}: ${c.why}`).join(''),
    );
  }
  if (userClasses.every((c) => c.weight === 0)) {
    throw new FirstspanError(ErrorCodes.SCRIPT_LOAD, `${file}: every user class has weight 0`);
  }
  return { file, userClasses, shape };
}
