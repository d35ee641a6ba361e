/**
 * Every file yorick writes goes through here: whole-or-nothing writes (a temporary file
 * `NAME.tmp-PID`, fsync, rename), streamed so that no file needs one buffer of its size;
 * positioned reads into the caller's arrays; bounded reads of small files; the out_dir lock and
 * the cleanup of temporary files left by killed runs. Errors a user can act on (no space, no
 * permission, a read-only disk, a folder that is a file) are UserErrors that say what failed.
 */
import {
  closeSync, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, readSync,
  renameSync, statSync, unlinkSync, writeSync, appendFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { UserError } from '../errors.js';

/** fs.readSync / writeSync take at most 2^31 - 1 bytes a call; stay well below. */
export const MAX_IO_BYTES = 1 << 30;

const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EIO: 'an input/output error',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'its folder does not exist',
  EFBIG: 'the file is too large for this file system',
  EMFILE: 'too many open files',
};

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** The temporary name a write uses before its rename: stale ones are recognized by the PID. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** Whether a process with this PID exists (one of another user's counts as existing). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

/** A write error a user can act on, as a UserError naming the file; anything else unchanged. */
export function writeFailure(e: unknown, path: string): unknown {
  const code = codeOf(e);
  if (code === undefined || !(code in WRITE_FAILURES)) return e;
  const kept = existsSync(path) ? `the previous ${basename(path)} is intact` : 'nothing was written';
  return new UserError(`could not write ${path}: ${WRITE_FAILURES[code]} (${code}); ${kept} and the temporary file was removed`);
}

export interface ByteSink {
  /** Appends bytes (any length: split into calls the OS accepts). */
  write(bytes: Uint8Array): void;
}

/** Files being written under their temporary names now (see discardOpenTempFiles). */
const openTempFiles = new Set<TempFile>();

/**
 * Removes the temporary files of writes in progress and returns their names: what a process
 * that must exit at once (a second Ctrl-C) calls, so that it leaves the old files and no
 * half-written one. A write's rename happens only after its data is on disk.
 */
export function discardOpenTempFiles(): string[] {
  const names = [...openTempFiles].map((f) => f.tmp);
  for (const f of [...openTempFiles]) f.discard();
  return names;
}

/**
 * A file being written under its temporary name: commit() flushes it to disk and renames it
 * over `path`; discard() removes it. Errors come out raw (see writeFailure).
 */
export class TempFile implements ByteSink {
  readonly tmp: string;
  private fd: number;
  bytesWritten = 0;

  constructor(readonly path: string, private readonly chunkBytes = MAX_IO_BYTES) {
    this.tmp = tempPathFor(path);
    this.fd = openSync(this.tmp, 'w');
    openTempFiles.add(this);
  }

  write(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, Math.min(this.chunkBytes, bytes.length - off));
    this.bytesWritten += bytes.length;
  }

  commit(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
    openTempFiles.delete(this);
    syncDir(dirname(this.path));
  }

  discard(): void {
    openTempFiles.delete(this);
    if (this.fd >= 0) try { closeSync(this.fd); } catch { /* already failing */ }
    this.fd = -1;
    try { unlinkSync(this.tmp); } catch { /* never created, or renamed */ }
  }
}

/**
 * Writes `path` whole or not at all: `produce` writes the content to a temporary file in turn,
 * which is flushed to disk and renamed over `path`. A kill at any moment leaves the old file or
 * the new one; an error removes the temporary file. `chunkBytes` caps each write call.
 */
export function writeFileStreamed(path: string, produce: (sink: ByteSink) => void, chunkBytes = MAX_IO_BYTES): void {
  let file: TempFile | null = null;
  try {
    file = new TempFile(path, chunkBytes);
    produce(file);
    file.commit();
  } catch (e) {
    file?.discard();
    throw writeFailure(e, path);
  }
}

/**
 * writeFileStreamed for a producer that awaits between writes (letting signal handlers run:
 * one that calls discardOpenTempFiles and exits leaves the previous file untouched).
 */
export async function writeFileStreamedAsync(path: string, produce: (sink: ByteSink) => Promise<void>, chunkBytes = MAX_IO_BYTES): Promise<void> {
  let file: TempFile | null = null;
  try {
    file = new TempFile(path, chunkBytes);
    await produce(file);
    file.commit();
  } catch (e) {
    file?.discard();
    throw writeFailure(e, path);
  }
}

/** Makes a rename durable (best effort: some systems cannot open a folder for fsync). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* not supported here */ }
}

/** Writes a file whole or not at all (see writeFileStreamed). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  writeFileStreamed(path, (sink) => sink.write(bytes));
}

/** Appends a line (a log), with the same clear errors as the whole-file writes. */
export function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, line.endsWith('\n') ? line : line + '\n');
  } catch (e) {
    const code = codeOf(e);
    if (code === undefined || !(code in WRITE_FAILURES)) throw e;
    throw new UserError(`could not append to ${path}: ${WRITE_FAILURES[code]} (${code})`);
  }
}

function readFailure(e: unknown, path: string, what: string): unknown {
  const code = codeOf(e);
  if (code === 'ENOENT') return new UserError(`${what} not found: ${path}`);
  if (code === 'EISDIR') return new UserError(`${what} ${path} is a folder, not a file`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`cannot read ${what} ${path}: permission denied (${code})`);
  if (code === 'EIO') return new UserError(`cannot read ${what} ${path}: an input/output error (EIO)`);
  return e;
}

/** Opens a regular file for reading: its descriptor and size. Folders and devices are refused. */
export function openRegularFile(path: string, what = 'file'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw readFailure(e, path, what);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UserError(`${what} ${path} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; expected a file`);
  }
  return { fd, size: st.size };
}

/**
 * Fills `target` with the file's bytes from `position` by positioned reads of at most
 * chunkBytes each. A file shorter than that is an error naming it.
 */
export function readAt(fd: number, target: Uint8Array, position: number, what: string, chunkBytes = MAX_IO_BYTES): void {
  for (let off = 0; off < target.length;) {
    const n = readSync(fd, target, off, Math.min(chunkBytes, target.length - off), position + off);
    if (n === 0) throw new UserError(`${what}: the file ends at byte ${position + off}, expected ${position + target.length} or more (truncated)`);
    off += n;
  }
}

/**
 * A small file's bytes, read up to maxBytes: anything longer (or endless, as /dev/zero) is
 * refused with the limit in the message. Works for pipes and devices too.
 */
export function readFileBounded(path: string, maxBytes: number, what: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw readFailure(e, path, what);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new UserError(`${what} ${path} is a folder, not a file`);
    const buf = new Uint8Array(Math.min(maxBytes + 1, 1 << 20));
    let data = buf, len = 0;
    for (;;) {
      if (len === data.length) {
        if (len > maxBytes) break;
        const bigger = new Uint8Array(Math.min(maxBytes + 1, data.length * 2));
        bigger.set(data);
        data = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, data, len, data.length - len, null);
      } catch (e) {
        throw readFailure(e, path, what);
      }
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) throw new UserError(`${what} ${path} is larger than ${maxBytes.toLocaleString('en-US')} bytes, the limit for it`);
    return data.subarray(0, len);
  } finally {
    closeSync(fd);
  }
}

/** Creates a folder (and its parents); a file in the way is a UserError naming `what`. */
export function ensureDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = codeOf(e);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new UserError(`${what} ${dir} is a file, not a folder (or a part of its path is)`);
    if (code !== undefined && code in WRITE_FAILURES) throw new UserError(`cannot create ${what} ${dir}: ${WRITE_FAILURES[code]} (${code})`);
    throw e;
  }
  if (!statSync(dir).isDirectory()) throw new UserError(`${what} ${dir} is a file, not a folder`);
}

/** An existing folder to write into, checked before any work starts (the parent of `path`). */
export function checkWritableParent(path: string, what: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UserError(`${what}: the folder ${dir} does not exist (create it first)`);
  if (!statSync(dir).isDirectory()) throw new UserError(`${what}: ${dir} is a file, not a folder`);
}

/** `base/name` for a name that must stay inside `base`: one plain path component. */
export function childPath(base: string, name: string, what: string): string {
  if (!/^[\w.-]+$/.test(name) || /^\.+$/.test(name) || isAbsolute(name)) {
    throw new UserError(`${what} "${name}" may use only letters, digits, '_', '-' and '.', and must not be "." or ".." (it names a folder inside ${base})`);
  }
  return join(base, name);
}

const TEMP = /\.tmp-(\d+)$/;

/** Removes `*.tmp-PID` files in dir whose writer is gone; returns their names. */
export function cleanStaleTemps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = TEMP.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw writeFailure(e, join(dir, name));
    }
  }
  return removed;
}

export const LOCK_FILE = '.lock';

function lockHolder(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^\d{1,10}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/**
 * Takes out_dir for this process: `dir/.lock` holds the holder's PID. A lock whose holder is
 * gone is broken; one held by a live process is a UserError. The lock file is created whole
 * (written under a temporary name, then hard-linked into place, which fails if it exists).
 */
export function acquireOutDirLock(dir: string): void {
  ensureDir(dir, 'out_dir');
  const lock = join(dir, LOCK_FILE);
  const mine = tempPathFor(lock);
  writeFileAtomic(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, lock);
        return;
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw writeFailure(e, lock);
      }
      const holder = lockHolder(lock);
      if (holder === process.pid) return;
      if (holder !== null && pidAlive(holder)) {
        throw new UserError(`out_dir ${dir} is in use by another run (PID ${holder}, in ${lock}); wait for it to end or use another out_dir. If no yorick run has that PID, delete ${lock}.`);
      }
      // stale: move it aside, and put it back if another process took the lock meanwhile
      const aside = `${lock}.stale.tmp-${process.pid}`;
      try {
        renameSync(lock, aside);
      } catch (e) {
        if (codeOf(e) === 'ENOENT') continue;
        throw writeFailure(e, lock);
      }
      const moved = lockHolder(aside);
      if (moved !== holder && moved !== null && pidAlive(moved)) {
        try { linkSync(aside, lock); } catch { /* a third run holds it now */ }
        unlinkSync(aside);
        throw new UserError(`out_dir ${dir} is in use by another run (PID ${moved}, in ${lock}); wait for it to end or use another out_dir.`);
      }
      unlinkSync(aside);
    }
    throw new UserError(`could not take the lock ${lock}: other runs keep taking and leaving it`);
  } finally {
    try { unlinkSync(mine); } catch { /* gone already */ }
  }
}

/** Gives out_dir back, if this process holds it. */
export function releaseOutDirLock(dir: string): void {
  const lock = join(dir, LOCK_FILE);
  if (lockHolder(lock) === process.pid) {
    try { unlinkSync(lock); } catch { /* removed by hand */ }
  }
}
