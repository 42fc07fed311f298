#!/usr/bin/env node
// Makes the pinned solc-js (npm `solc`) look like a native `solc` to py-solc-x.
//
// `solcjs --standard-json` prints a banner before its JSON, which py-solc-x cannot parse, and
// py-solc-x only takes a path to an executable. This wrapper answers the two calls py-solc-x makes:
//   --version          -> native solc's two-line format (py-solc-x reads the version with a regex)
//   --standard-json    -> JSON in on stdin, JSON only out on stdout
// Optional --base-path / --allow-paths enable reading imports from disk, confined to those roots.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

// Sets exitCode instead of calling process.exit(), so Node still flushes pending output.
function fail(message) {
  process.stderr.write(message + '\n');
  process.exitCode = 1;
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path') opts.basePath = argv[++i];
    else if (arg === '--allow-paths') opts.allowPaths = (argv[++i] || '').split(',').filter(Boolean);
    else throw new Error(`unrecognised option '${arg}'`);
  }
  return opts;
}

// Resolves an import only inside the base path or an allowed path, like native solc does.
function makeImportReader(opts) {
  const roots = [opts.basePath, ...opts.allowPaths].filter(Boolean).map((p) => path.resolve(p));
  if (roots.length === 0) return undefined;
  const base = path.resolve(opts.basePath || '.');
  return (importPath) => {
    const full = path.resolve(base, importPath);
    const allowed = roots.some((root) => full === root || full.startsWith(root + path.sep));
    if (!allowed) return { error: `File outside of allowed directories: ${importPath}` };
    try {
      return { contents: fs.readFileSync(full, 'utf8') };
    } catch (err) {
      return { error: `File not found: ${importPath}` };
    }
  };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    fail(err.message);
    return;
  }
  if (opts.version) {
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`,
    );
    return;
  }
  if (!opts.standardJson) {
    fail('only --version and --standard-json are supported by this wrapper');
    return;
  }
  const input = fs.readFileSync(0, 'utf8');
  const reader = makeImportReader(opts);
  const output = reader ? solc.compile(input, { import: reader }) : solc.compile(input);
  // No process.exit() after this: it could cut a large output short on a pipe.
  process.stdout.write(output);
}

main();
