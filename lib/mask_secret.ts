/**
 * Masks a secret for display: keeps a few characters at each end so an
 * operator can tell keys apart, and hides the rest. Counts Unicode code
 * points, so emoji and accented letters are never split.
 *
 * Shows 4 characters at each end from 20 code points on, 2 from 10, 1 from
 * 5, none below; the empty string stays empty.
 *
 * @example
 * ```ts
 * import { maskSecret } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * assert.equal(maskSecret("sk-ant-api03-abcdefgh"), "sk-a...efgh");
 * assert.equal(maskSecret("abcd"), "...");
 * ```
 *
 * @param secret The value to mask.
 * @returns The masked value.
 */
export function maskSecret(secret: string): string {
  if (secret === "") return "";
  // Most keys are ASCII, where code points are UTF-16 units: slice directly.
  if (isAscii(secret)) {
    const n = secret.length;
    const shown = n >= 20 ? 4 : n >= 10 ? 2 : n >= 5 ? 1 : 0;
    if (n <= 2 * shown || shown === 0) return "...";
    return `${secret.slice(0, shown)}...${secret.slice(n - shown)}`;
  }
  const points = Array.from(secret);
  const n = points.length;
  const shown = n >= 20 ? 4 : n >= 10 ? 2 : n >= 5 ? 1 : 0;
  if (n <= 2 * shown || shown === 0) return "...";
  return `${points.slice(0, shown).join("")}...${points.slice(n - shown).join("")}`;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
