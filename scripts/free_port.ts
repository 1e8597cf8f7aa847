// Prints a TCP port free on 127.0.0.1 right now, for shell scripts
// (scripts/debian_postgres.sh), from the suite's one freePort (tests/_port.ts).
//
//   tsx scripts/free_port.ts
import { freePort } from "../tests/_port.ts";

console.log(await freePort());
