/**
 * Internal. The `--json` document: one per run, on stdout, whatever the
 * command and outcome. `docs/cli.md` shows this interface verbatim, and a
 * test checks that it does.
 *
 * @module
 */
import type { AdoptResult } from "../lib/adopt.ts";
import type { EncryptionRewrite, EncryptionStatus } from "../lib/encryption.ts";
import type { DriftField, LockHolder, ProviderDrift } from "../lib/errors.ts";
import type { AuditFailure, PlanCounts, PlanEntry, SeedTimings, SeedWarning } from "../lib/report.ts";
import type { RestoreResult } from "../lib/restore.ts";

/** The version of the `--json` documents; raised only on an incompatible change. */
export const CLI_JSON_VERSION = 2;

// --- document: begin ---
/** The error of a failed command. */
export interface CliJsonError {
  /** A `SeedError` code (`config_invalid`, `drift`, `lock_timeout`, `timeout`, …), `usage`, `aborted` (a declined confirmation), or `error`. */
  code: string;
  /** The same one line as on stderr, without `error: `. */
  message: string;
  /** `config_invalid`: every problem. */
  problems?: string[];
  /** `drift`: every drifted provider with its fields. */
  drifts?: ProviderDrift[];
  /** `lock_timeout`: the backend holding the lock, when seen. */
  holder?: LockHolder | null;
  /** Phase durations reached before the failure, when the library measured them. */
  timings?: SeedTimings | null;
}

/** The one document `--json` prints. Fields a command does not produce are left out. */
export interface CliJsonDocument {
  /** `CLI_JSON_VERSION`. */
  version: number;
  /** `plan`, `check`, `apply`, `schema`, `encryption`, `adopt`, `restore`, `version`, or `null` when the arguments were unusable or named no command. */
  command: string | null;
  /** `false` exactly when the exit code is 1. */
  ok: boolean;
  /** plan, check: something would be inserted or has drifted. apply: something was inserted. */
  changes?: boolean;
  /** plan, check, apply: the entries counted by action. */
  counts?: PlanCounts;
  /** plan, check, apply: one entry per configured provider, in name order; `action` is one of insert, unchanged, skip-deleted, drift. */
  entries?: PlanEntry[];
  /** plan, check, apply: configuration warnings. */
  warnings?: SeedWarning[];
  /** plan, check, apply: phase durations in milliseconds. */
  timings?: SeedTimings;
  /** apply: whether the advisory lock was taken (false: nothing to do, decided without it). */
  lockTaken?: boolean;
  /** apply: statements sent. */
  statements?: number;
  /** apply: round trips waited for. */
  roundTrips?: number;
  /** apply: audit entries delivered to the sink. */
  auditDelivered?: number;
  /** apply: audit entries the sink refused. */
  auditFailures?: AuditFailure[];
  /** schema: whether the schema was applied (false with `--print`). */
  applied?: boolean;
  /** schema --print: the SQL. */
  sql?: string;
  /** encryption: the subcommand, `rotate`, `decrypt` or `status`. */
  action?: "rotate" | "decrypt" | "status";
  /** encryption rotate, decrypt: values rewritten, whether the primary was registered, keys revoked and not revoked. */
  rewrite?: EncryptionRewrite;
  /** encryption status: values per key id, the dbcrypt_keys rows, key ids in use that are not configured. */
  encryption?: EncryptionStatus;
  /** `--help`, `help [command]`: the help text of `command` (`null`: the overview). */
  help?: string;
  /** `version`, `--version`: the version of `@aibridge/seed`. */
  packageVersion?: string;
  /**
   * adopt: per named provider the action and the field changes (database -> environment), whether it was written, audit and
   * cost; also beside the error when the command was refused (no terminal, no --yes) or declined, as the changes it showed.
   */
  adopt?: AdoptResult;
  /** restore: per named provider the row brought back (or, refused or declined, the one shown), whether it was written, audit and cost. */
  restore?: RestoreResult;
  /** When `ok` is false. */
  error?: CliJsonError;
}
// --- document: end ---

export type { DriftField };
