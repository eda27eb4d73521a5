// Module hooks registered before a script is imported.
// - The bare specifier `firstspan` always means the API of the firstspan that is running the
//   script, so a script anywhere on disk works without a node_modules of its own, and script and
//   runner share one copy of HttpUser.
// - The script itself is an ES module even where no package.json says "type": "module" (a lone
//   file in /tmp): scripts use `import`/`export`, and CommonJS detection would reject them.
let apiUrl;

export function initialize(data) {
  apiUrl = data.apiUrl;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'firstspan') return next(apiUrl, context);
  const resolved = await next(specifier, context);
  if (resolved.url.includes('firstspan-script=1')) return { ...resolved, format: 'module' };
  return resolved;
}

export async function load(url, context, next) {
  if (url.includes('firstspan-script=1')) return next(url, { ...context, format: 'module' });
  return next(url, context);
}
