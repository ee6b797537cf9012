#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli, compiled to dist/ by `npm run build` (`npm test` and
// `npm run demo` build first). .npmrc sets ignore-scripts, so `npm ci` does not build.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error("esmm: error: not built yet: run 'npm run build' in the esmm folder first");
  process.exitCode = 1;
} else {
  const { main } = await import(entry.href);
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => { console.error(err instanceof Error ? err.stack : String(err)); process.exitCode = 1; },
  );
}
