/**
 * Internal. The deadline of one seed or plan: every wait of the seed (a
 * connection from the pool or a pooler, each round trip, the lock, the
 * commit, the audit sink) races it, so `timeoutMs` bounds the whole call
 * from the first byte to the result. {@link CallDeadline} is the same for
 * adopt, restore and the encryption calls, its expiry naming the call.
 *
 * @module
 */
import { SeedError } from "./errors.ts";
import { MAX_TIMEOUT_MS } from "./types.ts";

/** A point in time after which the seed gives up; `timeoutMs` 0 means never. */
export class Deadline {
  /** The configured timeout in milliseconds; 0 for none. */
  readonly timeoutMs: number;
  private readonly end: number;

  /** Starts the clock now. */
  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.end = timeoutMs === 0 ? Infinity : performance.now() + timeoutMs;
  }

  /** Milliseconds left (may be 0); `Infinity` without a deadline. */
  remaining(): number {
    return Math.max(0, this.end - performance.now());
  }

  /**
   * The remaining time as a Postgres timeout setting in whole
   * milliseconds: at least 1 (0 would mean "no timeout" to the server),
   * or 0 without a deadline.
   */
  serverMs(): number {
    const left = this.remaining();
    return left === Infinity ? 0 : Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(left)));
  }

  /** The error a wait that outlives the deadline rejects with. */
  expired(doing: string): SeedError {
    return new SeedError(
      "timeout",
      `${doing}: the seed did not finish within its deadline (timeoutMs ${this.timeoutMs} ms); the server ends its statements and transaction by itself, so nothing was written. Retry, or raise timeoutMs`,
    );
  }

  /**
   * Resolves or rejects as `work` does, unless the deadline (or the
   * optional tighter `limit`) passes first: then `onExpire` runs (let go of
   * what is in flight) and the promise rejects with the deadline's error
   * (or `limit.error()`). A late outcome of `work` is then ignored.
   */
  race<T>(
    work: PromiseLike<T>,
    doing: string,
    onExpire?: () => void,
    limit?: { ms: number; error: () => unknown },
  ): Promise<T> {
    const left = this.remaining();
    const useLimit = limit !== undefined && limit.ms < left;
    const wait = useLimit ? limit.ms : left;
    const settled = Promise.resolve(work);
    if (wait === Infinity) return settled;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        settled.then(() => {}, () => {}); // the late outcome is nobody's any more
        try {
          onExpire?.();
        } finally {
          reject(useLimit ? limit.error() : this.expired(doing));
        }
      }, wait);
      settled.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}

/**
 * The deadline of a call other than the seed (adopt, restore, the
 * encryption rewrites and status), whose expiry names the call and the step.
 */
export class CallDeadline extends Deadline {
  private readonly call: string;

  /** Starts the clock now; `call` names the call in the expiry's message. */
  constructor(timeoutMs: number, call: string) {
    super(timeoutMs);
    this.call = call;
  }

  /** The error a wait that outlives the deadline rejects with. */
  override expired(step: string): SeedError {
    return new SeedError(
      "timeout",
      `${this.call}: did not finish within its deadline (timeoutMs ${this.timeoutMs} ms; the step was: ${step}); the server ends its statements and transaction by itself, so nothing was written. Retry, or raise timeoutMs (0 for none)`,
    );
  }
}
