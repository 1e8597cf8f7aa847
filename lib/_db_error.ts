/**
 * Internal. Turns what the client or the server threw into a
 * {@link SeedError} that says what failed and what to do: never the query's
 * parameters or text (they hold API keys), never the database's host, port,
 * user or password, always the server's own reason and SQLSTATE.
 *
 * @module
 */
import { errorText } from "./_transaction.ts";
import { SeedError } from "./errors.ts";

const PERMISSION_HINT =
  "grant the seed's role the rights the README lists (SELECT and INSERT on ai_providers, ai_provider_keys and ai_provider_audit, UPDATE on ai_provider_audit, and UPDATE on ai_providers to adopt or restore)";

/**
 * Maps an error to a {@link SeedError}; a `SeedError` passes through.
 *
 * @param err What was thrown.
 * @param doing What the library was doing, e.g. `seed AI providers from the environment`.
 */
export function databaseError(err: unknown, doing: string): SeedError {
  if (err instanceof SeedError) return err;
  const code = (err as { code?: unknown })?.code;
  const message = errorText(err);
  // The cause keeps the message and the SQLSTATE, nothing else: postgres.js
  // keeps `parameters` and `query` on its errors.
  const cause = Object.assign(new Error(message), { code });
  if (code === "42P01" || code === "42704") {
    return new SeedError(
      "schema_missing",
      `${doing}: the ai_providers tables do not exist in this database (${message}); create them with applySchema(sql) first`,
      { cause },
    );
  }
  if (code === "42703") {
    return new SeedError(
      "schema_mismatch",
      `${doing}: a table of the seed lacks a column it needs (${message}); compare it with SCHEMA_SQL, or create the tables with applySchema(sql) in an empty database`,
      { cause },
    );
  }
  if (code === "42501") {
    return new SeedError("permission_denied", `${doing}: ${message}; ${PERMISSION_HINT}`, { cause });
  }
  if (code === "57014") {
    return new SeedError("timeout", `${doing}: a statement was cancelled (${message}); nothing was written. Retry, or raise timeoutMs`, {
      cause,
    });
  }
  if (code === "CONNECT_TIMEOUT") {
    return new SeedError(
      "database_error",
      `${doing}: no connection to the database within the client's connect_timeout (CONNECT_TIMEOUT): the server did not answer; nothing was written. Check the host and port, or raise connect_timeout`,
      { cause },
    );
  }
  if (typeof code === "string" && /^(CONNECTION_(CLOSED|ENDED|DESTROYED)|ECONNRESET|EPIPE)$/.test(code)) {
    // postgres.js drops the server's FATAL reason when the connection
    // closes right after it, so say what can have closed it.
    return new SeedError(
      "database_error",
      `${doing}: the connection closed before the server answered (${message}): the backend was terminated (pg_terminate_backend, 57P01), the server restarted, a pooler or idle timeout ended it, or the network failed; nothing was written`,
      { cause },
    );
  }
  return new SeedError("database_error", `${doing}: ${message}; nothing was written`, { cause });
}
