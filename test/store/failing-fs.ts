/**
 * A StoreFs that plays a full disk or a failing device on demand: while failing, a write puts part of its bytes on
 * disk and then fails (a full disk answers a short write first, then ENOSPC), and sync fails with EIO when asked.
 */
import { nodeStoreFs, type StoreFs } from "../../server/store/durable-file.ts";

export interface FailingFs extends StoreFs {
  /** "ENOSPC": writes fail after a partial write; "EIO": every sync fails; undefined: healthy again */
  fail(mode: "ENOSPC" | "EIO" | undefined): void;
  /** calls of sync(fd, dataOnly = true) that succeeded (one per journal flush) */
  dataSyncs: number;
}

const errno = (code: "ENOSPC" | "EIO", syscall: string) =>
  Object.assign(new Error(`${code}: ${code === "ENOSPC" ? "no space left on device" : "i/o error"}, ${syscall}`), { code, syscall });

export function failingFs(): FailingFs {
  let mode: "ENOSPC" | "EIO" | undefined;
  const fs: FailingFs = {
    dataSyncs: 0,
    fail: (m) => void (mode = m),
    write(fd, bytes, offset, length, position) {
      if (mode !== "ENOSPC") return nodeStoreFs.write(fd, bytes, offset, length, position);
      if (length > 1) return nodeStoreFs.write(fd, bytes, offset, Math.floor(length / 2), position); // short write
      throw errno("ENOSPC", "write");
    },
    sync(fd, dataOnly) {
      if (mode === "EIO") throw errno("EIO", dataOnly ? "fdatasync" : "fsync");
      nodeStoreFs.sync(fd, dataOnly);
      if (dataOnly) fs.dataSyncs++;
    },
  };
  return fs;
}
