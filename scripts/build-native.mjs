// Builds the optional native backend (native/) with node-gyp during `npm install` / `npm ci`.
// Never fails the installation: without a compiler, or when the build breaks, it prints one
// line and yorick uses its other backends. The full compiler log goes to native/build.log.
// YORICK_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native');
const log = join(dir, 'build.log');

function say(line) {
  process.stderr.write(`yorick: ${line}\n`);
}

/** node-gyp's entry script: the one npm runs scripts with, else the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p));
}

function main() {
  if (process.env.YORICK_NATIVE === '0') {
    say('native backend build skipped (YORICK_NATIVE=0)');
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    say('native backend not built (node-gyp not found); using the WebAssembly backend');
    return;
  }
  const args = [gyp, 'rebuild'];
  // Build against the headers installed with this Node when npm has not said where they are,
  // so that no download is ever needed.
  const prefix = resolve(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const run = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(log, `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`);
  const built = join(dir, 'build', 'Release', 'yorick_native.node');
  if (run.status === 0 && existsSync(built)) {
    say(`native backend built (${built})`);
  } else {
    say(`native backend not built (compiler or node-gyp failed, see ${log}); using the WebAssembly backend`);
  }
}

try {
  main();
} catch (e) {
  say(`native backend not built (${e instanceof Error ? e.message : String(e)}); using the WebAssembly backend`);
}
