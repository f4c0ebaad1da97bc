#!/usr/bin/env node
// Entry point of the `rampart` CLI. The TypeScript sources are compiled to dist/ by `npm ci`
// (the package's `prepare` script), so users never run a build step themselves.
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`rampart: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
