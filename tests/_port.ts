// A free TCP port, for servers the suite and its scripts start (the embedded
// PostgreSQL, PgBouncer).
import { createServer } from "node:net";

/**
 * A TCP port free on `host` right now: the kernel picks one for a listener
 * that is closed at once. Another process may take it before the caller
 * binds it; callers that start a server on it should retry on "address in
 * use".
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
