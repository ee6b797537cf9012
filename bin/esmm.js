#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist/ by `npm run build`, run by `prepare`).
import { main } from '../dist/src/cli/main.js';
import { describeFailure, exitQuietlyOnClosedStdout } from '../dist/src/cli/error-report.js';

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
