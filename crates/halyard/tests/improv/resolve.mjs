// The SDK's browser build imports "./util/hex-formatter" without its ".js" (a bundler resolves
// it; Node does not): try the specifier as given, then with ".js". Nothing else is changed.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (specifier.startsWith(".") && !specifier.endsWith(".js")) return next(specifier + ".js", context);
    throw e;
  }
}`),
  import.meta.url,
);
