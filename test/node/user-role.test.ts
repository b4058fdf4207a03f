import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { neon, neonConfig } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../scripts/migrate";
import { startNeonLocal } from "../../scripts/neon-local/server";
import { runUserRoleCommand } from "../../scripts/user-role";

const DATABASE = "app";
const CONNECTION_STRING = `postgres://test@db.localtest.me/${DATABASE}`;

/** Find a port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("The probe server has no TCP address.");
  return address.port;
}

function captureOutput() {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    output: { log: (line: string) => lines.push(line), error: (line: string) => errors.push(line) },
  };
}

/** Open the data directory, run `action` against it, and close it again. */
async function withDatabase<T>(dataDir: string, action: (sql: ReturnType<typeof neon>) => Promise<T>): Promise<T> {
  const server = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
  try {
    neonConfig.fetchEndpoint = server.url;
    return await action(neon(CONNECTION_STRING));
  } finally {
    await server.close();
  }
}

describe("npm run user:role", () => {
  let scratchDir: string;
  let dataDir: string;

  beforeAll(async () => {
    scratchDir = await mkdtemp(join(tmpdir(), "user-role-test-"));
    dataDir = join(scratchDir, "pglite");
    const server = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
    try {
      await migrateDatabase({ connectionString: CONNECTION_STRING, fetchEndpoint: server.url }, () => {});
      neonConfig.fetchEndpoint = server.url;
      const sql = neon(CONNECTION_STRING);
      await sql`INSERT INTO users (email, status, is_email_verified) VALUES ('owner@example.com', 'active', true)`;
    } finally {
      await server.close();
    }
  });

  afterAll(async () => {
    await rm(scratchDir, { recursive: true, force: true });
  });

  it("grants a role in the data directory", async () => {
    const { lines, errors, output } = captureOutput();
    const args = ["--email", "Owner@Example.com", "--role", "admin", "--data-dir", dataDir];
    const code = await runUserRoleCommand([...args, "--neon-port", String(await freePort())], output, {});
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^Granted the role admin to owner@example.com \(user [0-9a-f-]{36}, was user\)\.$/);

    const rows = await withDatabase(dataDir, (sql) => sql`SELECT role FROM users WHERE email = 'owner@example.com'`);
    expect(rows).toEqual([{ role: "admin" }]);
  });

  it("records the change in the audit log", async () => {
    const events = await withDatabase(
      dataDir,
      (sql) => sql`SELECT actor_user_id, metadata FROM audit_events WHERE action = 'user.role_changed'`,
    );
    expect(events).toEqual([{ actor_user_id: null, metadata: { from: "user", to: "admin", source: "command_line" } }]);
  });

  it("uses the running dev endpoint", async () => {
    const server = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
    try {
      const { errors, output } = captureOutput();
      const code = await runUserRoleCommand(
        [
          "--email",
          "owner@example.com",
          "--role",
          "reviewer",
          "--neon-port",
          String(server.port),
          "--data-dir",
          "/nonexistent",
        ],
        output,
        {},
      );
      expect(errors).toEqual([]);
      expect(code).toBe(0);
      expect(server.requestCount(DATABASE)).toBeGreaterThan(0);
      neonConfig.fetchEndpoint = server.url;
      expect(await neon(CONNECTION_STRING)`SELECT role FROM users WHERE email = 'owner@example.com'`).toEqual([
        { role: "reviewer" },
      ]);
    } finally {
      await server.close();
    }
  });

  it("uses DATABASE_URL when set", async () => {
    const server = await startNeonLocal({ backend: { kind: "pglite", dataDir } });
    try {
      const { errors, output } = captureOutput();
      const code = await runUserRoleCommand(["--email", "owner@example.com", "--role", "admin"], output, {
        DATABASE_URL: CONNECTION_STRING,
        NEON_FETCH_ENDPOINT: server.url,
      });
      expect(errors).toEqual([]);
      expect(code).toBe(0);
      expect(server.requestCount(DATABASE)).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("reports an unknown email", async () => {
    const { errors, output } = captureOutput();
    const code = await runUserRoleCommand(
      [
        "--email",
        "nobody@example.com",
        "--role",
        "admin",
        "--data-dir",
        dataDir,
        "--neon-port",
        String(await freePort()),
      ],
      output,
      {},
    );
    expect(code).toBe(1);
    expect(errors[0]).toMatch(/^No account has the email nobody@example.com/);
  });

  it("reports an invalid role", async () => {
    const { errors, output } = captureOutput();
    const code = await runUserRoleCommand(["--email", "owner@example.com", "--role", "root"], output, {});
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/^Invalid role "root": expected one of user, reviewer, admin\./);
  });

  it("reports missing options", async () => {
    const { errors, output } = captureOutput();
    expect(await runUserRoleCommand(["--role", "admin"], output, {})).toBe(2);
    expect(errors[0]).toMatch(/^Missing --email/);
    expect(await runUserRoleCommand(["--email", "owner@example.com"], output, {})).toBe(2);
    expect(errors[1]).toMatch(/^Missing --role/);
  });

  it("reports a missing development database", async () => {
    const { errors, output } = captureOutput();
    const code = await runUserRoleCommand(
      [
        "--email",
        "owner@example.com",
        "--role",
        "admin",
        "--data-dir",
        join(scratchDir, "empty"),
        "--neon-port",
        String(await freePort()),
      ],
      output,
      {},
    );
    expect(code).toBe(1);
    expect(errors[0]).toMatch(/^No development database in .*empty\/app/);
    expect(errors[0]).toContain("pass the same --neon-port here");
    expect(errors[0]).toContain("set DATABASE_URL");
  });
});
