/**
 * Login rate limiting per user and per client address: after `maxFailures` failed attempts in a row the key is
 * locked out, and every further failure doubles the lock-out (exponential backoff, capped). A success clears the
 * user's counter; the address counter only decays, so one valid account cannot launder guesses against others.
 * A key is forgotten only after `forgetAfterMs` without failures counted from the end of its lock.
 */
export interface ThrottleOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  /** first lock-out [ms]; doubles with every further failure */
  baseLockMs: number;
  maxLockMs: number;
  /** a key's failures are forgotten after this long without a failure, counted from the end of its lock [ms] */
  forgetAfterMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  maxFailuresPerUser: 5,
  maxFailuresPerAddress: 20,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 15 * 60_000,
};

interface Counter {
  failures: number;
  lastFailureMs: number;
  lockedUntilMs: number;
}

export interface LoginThrottle {
  /** ms until the user or the address may try again; 0 = allowed */
  retryAfterMs(user: string, address: string): number;
  failed(user: string, address: string): void;
  succeeded(user: string): void;
}

export function createLoginThrottle(o: ThrottleOptions, now: () => number): LoginThrottle {
  const counters = new Map<string, Counter>();
  const get = (key: string): Counter | undefined => {
    const c = counters.get(key);
    // Quiet time counts from the end of the lock, not from the last failure: otherwise a guesser who waits out the
    // capped lock finds the counter forgotten and gets maxFailures free guesses again (test/security/sessions).
    if (c && now() - Math.max(c.lastFailureMs, c.lockedUntilMs) > o.forgetAfterMs) {
      counters.delete(key);
      return undefined;
    }
    return c;
  };
  const fail = (key: string, maxFailures: number) => {
    const c = get(key) ?? { failures: 0, lastFailureMs: 0, lockedUntilMs: 0 };
    c.failures += 1;
    c.lastFailureMs = now();
    if (c.failures >= maxFailures) c.lockedUntilMs = now() + Math.min(o.maxLockMs, o.baseLockMs * 2 ** (c.failures - maxFailures));
    counters.set(key, c);
  };
  return {
    retryAfterMs(user, address) {
      const until = Math.max(get(`user:${user}`)?.lockedUntilMs ?? 0, get(`addr:${address}`)?.lockedUntilMs ?? 0);
      return Math.max(0, until - now());
    },
    failed(user, address) {
      fail(`user:${user}`, o.maxFailuresPerUser);
      fail(`addr:${address}`, o.maxFailuresPerAddress);
    },
    succeeded: (user) => void counters.delete(`user:${user}`),
  };
}
