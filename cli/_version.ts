/**
 * Internal. The package's version, as `aibridge-seed --version` prints it.
 * A constant rather than a read of package.json or deno.json, so it is the
 * same from JSR, from the npm package and from the sources, with no file
 * access; tests/version.test.ts keeps it equal to both manifests' version.
 *
 * @module
 */

/** The version of `@aibridge/seed`. */
export const VERSION = "0.1.0";
