// Creates or drops a database on the server DATABASE_URL names, for shell
// scripts (scripts/pack_check.sh), through the suite's own harness
// (tests/_db.ts).
//
//   tsx scripts/database.ts create [PREFIX]   prints the new database's URL
//   tsx scripts/database.ts drop NAME|URL     drops it (and its sessions) if it exists
import { createDatabase, dropDatabase, serverUrl } from "../tests/_db.ts";

const [action, arg] = process.argv.slice(2);
try {
  if (action === "create") {
    const db = await createDatabase(serverUrl(), { prefix: arg });
    console.log(db.url);
  } else if (action === "drop" && arg !== undefined) {
    await dropDatabase(/^postgres(ql)?:\/\//.test(arg) ? decodeURIComponent(new URL(arg).pathname.slice(1)) : arg, serverUrl());
  } else {
    console.error("usage: tsx scripts/database.ts create [PREFIX] | drop NAME|URL");
    process.exit(64);
  }
} catch (e) {
  console.error(`scripts/database.ts ${action}: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
