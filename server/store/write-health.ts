/**
 * Whether the data folder takes writes. A failed write is remembered with a way to redo it (the document's current
 * content); while one is pending, or until any write succeeds again, the store is failing. A timer retries the
 * pending writes — or, when none is pending (a refused new lot has nothing to redo), a small probe write — until the
 * disk takes writes again. Listeners hear each change: failing (with the first error), then back to normal.
 */
import { rmSync } from "node:fs";
import { replaceFile, StoreWriteError, type StoreFs } from "./durable-file.ts";

export interface WriteHealth {
  /** the latest write error, while the failure lasts (listeners hear only the first) */
  failure(): StoreWriteError | undefined;
  onChange(fn: (failure: StoreWriteError | undefined) => void): void;
  /** retries the pending writes (or probes) now; returns the failure left, if any */
  retry(): StoreWriteError | undefined;
  close(): void;
}

/** What the writers tell the health: each failure (with how to redo it, when there is something to redo) and success. */
export interface WriteReporter {
  failed(error: StoreWriteError, redo?: () => void): void;
  succeeded(file: string): void;
}

/** probeFile: a file in the data folder that a probe write may create and remove */
export function createWriteHealth(o: { fs: StoreFs; probeFile: string; retryMs?: number }): WriteHealth & WriteReporter {
  const pending = new Map<string, () => void>();
  const listeners: ((failure: StoreWriteError | undefined) => void)[] = [];
  let failure: StoreWriteError | undefined;
  let timer: NodeJS.Timeout | undefined;

  const setFailure = (f: StoreWriteError | undefined) => {
    failure = f;
    if (f && !timer) timer = setInterval(() => health.retry(), o.retryMs ?? 1000).unref();
    if (!f && timer) {
      clearInterval(timer);
      timer = undefined;
    }
    listeners.forEach((fn) => fn(f));
  };

  const health: WriteHealth & WriteReporter = {
    failure: () => failure,
    onChange: (fn) => void listeners.push(fn),
    failed(error, redo) {
      if (redo) pending.set(error.file, redo);
      if (failure) failure = error; // the latest cause, for whoever asks next
      else setFailure(error);
    },
    succeeded(file) {
      pending.delete(file);
      if (failure && pending.size === 0) setFailure(undefined);
    },
    retry() {
      if (!failure) return undefined;
      if (pending.size === 0) {
        try {
          replaceFile(o.fs, o.probeFile, `${new Date().toISOString()}\n`);
          rmSync(o.probeFile, { force: true });
          health.succeeded(o.probeFile);
        } catch (e) {
          if (!(e instanceof StoreWriteError)) throw e;
        }
      }
      for (const [file, redo] of [...pending]) {
        try {
          redo(); // reports its own success or failure
        } catch (e) {
          if (!(e instanceof StoreWriteError)) throw new Error(`${file}: retrying the write failed unexpectedly (${(e as Error).message})`, { cause: e });
        }
      }
      return failure;
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return health;
}
