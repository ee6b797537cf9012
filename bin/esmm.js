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
  const { describeFailure, exitQuietlyOnClosedStdout } = await import(new URL('../dist/src/cli/error-report.js', import.meta.url).href);
  exitQuietlyOnClosedStdout();
  const command = process.argv[2] ?? '';
  // Errors raised outside main's own try (event handlers, stray rejections) get the same one line.
  const fail = (err) => {
    const failure = describeFailure(command, err);
    process.stderr.write(failure.text);
    process.exit(failure.code);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    fail,
  );
}
