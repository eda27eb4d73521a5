// Module resolve hook registered before a script is imported: the bare specifier `firstspan`
// always means the API of the firstspan that is running the script, so a script anywhere on disk
// works without a node_modules of its own, and script and runner share one copy of HttpUser.
let apiUrl;

export function initialize(data) {
  apiUrl = data.apiUrl;
}

export async function resolve(specifier, context, next) {
  if (specifier === 'firstspan') return next(apiUrl, context);
  return next(specifier, context);
}
