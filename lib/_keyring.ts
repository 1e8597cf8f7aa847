/**
 * Internal. Where the encryption keys come from: the `encryptionKeys`
 * option, else `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS` (or its `_FILE` twin)
 * in the same environment the providers are read from, parsed as Coder
 * parses it.
 *
 * @module
 */
import { type Keyring, parseEncryptionKeys, splitKeyList } from "./_dbcrypt.ts";
import { ENCRYPTION_KEYS_VARIABLE } from "./_stored.ts";
import { ConfigError } from "./errors.ts";
import { type EnvRecord, readTextFile } from "./runtime_env.ts";

/**
 * The keyring, or `null` when no key is configured (values are then
 * written in plaintext, and an encrypted stored value is an error).
 *
 * @throws {ConfigError} naming the position of each malformed key, never the key.
 */
export async function keyringFrom(encryptionKeys: readonly string[] | undefined, env: EnvRecord): Promise<Keyring | null> {
  if (encryptionKeys !== undefined) {
    return encryptionKeys.length === 0 ? null : await parseEncryptionKeys(encryptionKeys, "encryptionKeys");
  }
  const direct = env[ENCRYPTION_KEYS_VARIABLE] ?? "";
  const file = env[`${ENCRYPTION_KEYS_VARIABLE}_FILE`] ?? "";
  if (direct !== "" && file !== "") {
    throw new ConfigError([`${ENCRYPTION_KEYS_VARIABLE} and ${ENCRYPTION_KEYS_VARIABLE}_FILE are both set; use one or the other`]);
  }
  let value = direct;
  let source = ENCRYPTION_KEYS_VARIABLE;
  if (file !== "") {
    source = `${ENCRYPTION_KEYS_VARIABLE}_FILE`;
    try {
      value = readTextFile(file).trim();
    } catch (err) {
      throw new ConfigError([`cannot read ${source} (${JSON.stringify(file)}): ${(err as Error).message}`]);
    }
  }
  if (value === "") return null;
  return await parseEncryptionKeys(splitKeyList(value, source), source);
}
