// `npm run user:role -- --email ADDRESS --role admin`: grants a role to an existing account, which
// is how the first admin comes to exist. Without DATABASE_URL it works on the database that
// `npm run dev` uses: through the dev server's local Neon endpoint on 127.0.0.1:5480 while that
// runs, or else by opening the PGlite data directory itself. With DATABASE_URL it talks to that
// Neon database with the Neon driver (and to NEON_FETCH_ENDPOINT instead, when that is set).
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { neon, neonConfig } from "@neondatabase/serverless";
import { USER_ROLES } from "../src/db/schema";
import { startNeonLocal } from "./neon-local/server";

type Role = (typeof USER_ROLES)[number];
type Sql = ReturnType<typeof neon>;

const USAGE = `Usage: npm run user:role -- --email ADDRESS --role ROLE [options]

Grants ROLE (${USER_ROLES.join(", ")}) to the account with the email ADDRESS.
  --email ADDRESS   the account's email address (case-insensitive)
  --role ROLE       one of ${USER_ROLES.join(", ")}
  --database NAME   the database behind the local endpoint (default app, as npm run dev uses)
  --neon-port PORT  the local endpoint's port (default 5480, or NEON_LOCAL_PORT)
  --data-dir DIR    the PGlite data directory to open when no endpoint runs (default .data/pglite)
With DATABASE_URL set, the local options are ignored and the role is granted in that database.`;

export type GrantRoleResult =
  | { ok: true; userId: string; previousRole: Role; changed: boolean }
  | { ok: false; reason: "no_such_user" };

/**
 * Set the role of the account with `email` (lower case) in one statement, and record the change in
 * the audit log with no actor, because it came from the command line.
 */
export async function grantRole(sql: Sql, email: string, role: Role): Promise<GrantRoleResult> {
  const rows = (await sql.query(
    `WITH target AS (
       SELECT id, role FROM users WHERE email = $1 AND status <> 'deleted' FOR UPDATE),
     changed AS (
       UPDATE users AS u SET role = $2, updated_at = now()
       FROM target WHERE u.id = target.id
       RETURNING u.id, target.role AS previous_role),
     audit AS (
       INSERT INTO audit_events (action, actor_user_id, target_user_id, metadata)
       SELECT 'user.role_changed', NULL, id,
              jsonb_build_object('from', previous_role, 'to', $2::text, 'source', 'command_line')
       FROM changed WHERE previous_role <> $2)
     SELECT id, previous_role FROM changed`,
    [email, role],
  )) as { id: string; previous_role: Role }[];

  const row = rows[0];
  if (row === undefined) return { ok: false, reason: "no_such_user" };
  return { ok: true, userId: row.id, previousRole: row.previous_role, changed: row.previous_role !== role };
}

function isListening(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const finish = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

export interface CommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Run the command with `args` (without the program name); returns the process exit code. */
export async function runUserRoleCommand(
  args: string[],
  output: CommandOutput = console,
  environment: Record<string, string | undefined> = process.env,
): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(args, environment);
  } catch (error) {
    output.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    output.log(USAGE);
    return 0;
  }

  const { email, role } = options;
  const databaseUrl = environment.DATABASE_URL?.trim();
  let close = async () => {};
  let sql: Sql;
  let where: string;

  if (databaseUrl) {
    const fetchEndpoint = environment.NEON_FETCH_ENDPOINT?.trim();
    if (fetchEndpoint) neonConfig.fetchEndpoint = fetchEndpoint;
    sql = neon(databaseUrl);
    where = "the database in DATABASE_URL";
  } else if (await isListening(options.neonPort)) {
    neonConfig.fetchEndpoint = `http://127.0.0.1:${options.neonPort}/sql`;
    sql = neon(`postgres://user-role@db.localtest.me/${options.database}`);
    where = `database ${options.database} on the local endpoint at 127.0.0.1:${options.neonPort}`;
  } else {
    const databaseDirectory = join(options.dataDir, options.database);
    if (!existsSync(join(databaseDirectory, "PG_VERSION"))) {
      output.error(
        `No development database in ${databaseDirectory}, and no local endpoint answers on 127.0.0.1:${options.neonPort}. ` +
          "If `npm run dev` runs with --neon-port, pass the same --neon-port here, and if it ran with --data-dir, " +
          "the same --data-dir. Otherwise start `npm run dev` and sign up first, or set DATABASE_URL to grant the " +
          "role in that Neon database.",
      );
      return 1;
    }
    const server = await startNeonLocal({ backend: { kind: "pglite", dataDir: options.dataDir } });
    close = () => server.close();
    neonConfig.fetchEndpoint = server.url;
    sql = neon(`postgres://user-role@db.localtest.me/${options.database}`);
    where = `database ${options.database} in ${options.dataDir}`;
  }

  try {
    const result = await grantRole(sql, email, role);
    if (!result.ok) {
      output.error(`No account has the email ${email} in ${where}. Sign up first, then run this again.`);
      return 1;
    }
    if (!result.changed) output.log(`${email} (user ${result.userId}) already has the role ${role}; nothing changed.`);
    else output.log(`Granted the role ${role} to ${email} (user ${result.userId}, was ${result.previousRole}).`);
    output.log("Access tokens carry the role, so the user gets it with the next sign-in or token refresh.");
    return 0;
  } catch (error) {
    output.error(`Granting the role failed in ${where}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await close();
  }
}

function parseOptions(args: string[], environment: Record<string, string | undefined>) {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: "string" },
      role: { type: "string" },
      database: { type: "string", default: "app" },
      "neon-port": { type: "string", default: environment.NEON_LOCAL_PORT ?? "5480" },
      "data-dir": { type: "string", default: ".data/pglite" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help" as const;

  const email = values.email?.trim().toLowerCase();
  if (email === undefined || email === "") throw new Error("Missing --email: give the account's email address.");
  if (!/^[^\s@]+@[^\s@]+$/.test(email))
    throw new Error(`Invalid --email "${values.email}": expected an email address.`);
  const role = values.role?.trim();
  if (role === undefined || role === "") throw new Error(`Missing --role: give one of ${USER_ROLES.join(", ")}.`);
  if (!(USER_ROLES as readonly string[]).includes(role)) {
    throw new Error(`Invalid role "${role}": expected one of ${USER_ROLES.join(", ")}.`);
  }
  const neonPort = Number(values["neon-port"]);
  if (!Number.isInteger(neonPort) || neonPort < 1 || neonPort > 65535) {
    throw new Error(`Invalid --neon-port "${values["neon-port"]}": expected a port from 1 to 65535.`);
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values.database)) {
    throw new Error(`Invalid --database "${values.database}": expected a lower-case database name.`);
  }
  return { email, role: role as Role, database: values.database, neonPort, dataDir: values["data-dir"] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runUserRoleCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
