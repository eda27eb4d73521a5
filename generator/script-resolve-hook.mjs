// Module hooks registered before a script is imported.
// - The bare specifier `firstspan` always means the API of the firstspan that is running the
//   script, so a script anywhere on disk works without a node_modules of its own, and script and
//   runner share one copy of HttpUser.
// - The script itself is an ES module even where no package.json says "type": "module" (a lone
//   file in /tmp): scripts use `import`/`export`, and CommonJS detection would reject them.
//   A TypeScript script stays TypeScript: Node 22.10+ and 24 have the formats 'module-typescript'
//   and 'commonjs-typescript', and there tsx compiles a .ts file only under those; a plain 'module'
//   would hand the TypeScript source to V8 as it is ("Unexpected identifier" at the first type).
let apiUrl;

// Node that knows TypeScript formats (22.10+, 24): process.features.typescript is defined there.
const TS_FORMATS = process.features.typescript !== undefined;
const TS_FILE = /\.(?:[cm]?ts|tsx)$/;

/** The ES-module flavour of a script's format: 'module-typescript' for TypeScript where Node has it. */
function asModule(url, format) {
  if (format === 'module-typescript' || format === 'commonjs-typescript') return 'module-typescript';
  if (TS_FORMATS && TS_FILE.test(new URL(url).pathname)) return 'module-typescript';
  return 'module';
}

export function initialize(data) {
  apiUrl = data.apiUrl;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'firstspan') return next(apiUrl, context);
  const resolved = await next(specifier, context);
  if (resolved.url.includes('firstspan-script=1')) return { ...resolved, format: asModule(resolved.url, resolved.format) };
  return resolved;
}

export async function load(url, context, next) {
  if (url.includes('firstspan-script=1')) return next(url, { ...context, format: asModule(url, context.format) });
  return next(url, context);
}
