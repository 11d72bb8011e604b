/**
 * The store's file-write boundary. Every JSON document and journal of the data folder is written through a StoreFs
 * (node:fs by default; tests inject a failing one to play a full disk or an I/O error) and every failure becomes a
 * StoreWriteError naming the file. Writes are synchronous: a small file's write costs less than the thread-pool hops
 * of the asynchronous API, which dominated the tail of the write latency on a busy machine (bench/store.bench.ts).
 *
 * Durability of replaceFile: temp file written and fsync'ed, then renamed over the target — after a crash or a power
 * loss the file holds either the previous or the new content, never a mix or an empty file. The folder is not
 * fsync'ed per write (it more than doubled the latency, bench/store.bench.ts): a power loss within the file system's
 * commit interval (ext4: 5 s) may bring back the previous content. Who must know the rename is on disk (compaction,
 * before it deletes the journal the file replaces) calls syncFolder.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

/** The two calls through which bytes reach the disk: what a full disk or a failing device answers to. */
export interface StoreFs {
  /** writes bytes[offset, offset + length) at position (null: at the end); may write fewer bytes (a short write) */
  write(fd: number, bytes: Buffer, offset: number, length: number, position: number | null): number;
  /** flushes the file to stable storage (dataOnly: its data and size, not the other metadata) */
  sync(fd: number, dataOnly: boolean): void;
}

export const nodeStoreFs: StoreFs = {
  write: (fd, bytes, offset, length, position) => writeSync(fd, bytes, offset, length, position),
  sync: (fd, dataOnly) => (dataOnly ? fdatasyncSync(fd) : fsyncSync(fd)),
};

/** A file of the data folder could not be written; what was on disk before is unchanged. */
export class StoreWriteError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: Error,
  ) {
    super(`${file}: not written (${cause.message}); the file keeps its previous content`);
    this.name = "StoreWriteError";
  }
}

/** Writes all of bytes at position, looping over short writes (a nearly full disk writes part, then fails). */
export function writeAll(fs: StoreFs, fd: number, bytes: Buffer, position: number | null): void {
  let done = 0;
  while (done < bytes.length) done += fs.write(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
}

/** Replaces file with text: temp file + fsync + rename (see the module comment). */
export function replaceFile(fs: StoreFs, file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w");
    writeAll(fs, fd, Buffer.from(text), 0);
    fs.sync(fd, false);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    // clean-up is best effort: the write error is what the caller must hear about
    if (fd !== undefined) tryQuietly(() => closeSync(fd!));
    tryQuietly(() => rmSync(tmp, { force: true })); // a partial temp file only takes space
    throw new StoreWriteError(file, e as Error);
  }
}

function tryQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // see the caller
  }
}

/** Makes a rename or a new file in folder durable (its directory entry). */
export function syncFolder(fs: StoreFs, folder: string): void {
  const fd = openSync(folder, "r");
  try {
    fs.sync(fd, false);
  } finally {
    closeSync(fd);
  }
}
