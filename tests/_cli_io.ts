// An in-process CliIO that keeps what the CLI writes, for tests that call runCli directly.
import type { CliIO } from "../cli/mod.ts";

/** A CliIO over `env` whose stdout and stderr are kept in `out` and `err`. */
export function memoryIO(env: Record<string, string | undefined>, isTTY = false): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    env,
    isTTY,
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}
