// Starts the local Neon endpoint once for the whole worker test run and migrates a template
// database; every test file then clones the template, so each file starts from a clean schema.
import type { TestProject } from "vitest/node";
import { generateEncryptionKeyringJson } from "../src/crypto/encryption";
import { generateSigningKeyJwk } from "../src/crypto/jwt";
import { migrateDatabase } from "../scripts/migrate";
import { startNeonLocal } from "../scripts/neon-local/server";

// Unique per run, so test runs from several checkouts can share one Postgres server.
const TEMPLATE_DATABASE = `tpl_${process.pid}_${Date.now().toString(36)}`;

declare module "vitest" {
  export interface ProvidedContext {
    neonEndpoint: string;
    neonAdminOrigin: string;
    templateDatabase: string;
    databaseBackend: string;
    jwtSigningKeys: string;
    encryptionKeys: string;
  }
}

export default async function setup(project: TestProject) {
  const postgresUrl = process.env.TEST_DATABASE_URL;
  const server = await startNeonLocal({
    backend: postgresUrl ? { kind: "postgres", url: postgresUrl } : { kind: "pglite" },
  });

  await server.createDatabase(TEMPLATE_DATABASE);
  await migrateDatabase(
    { connectionString: `postgres://test@db.localtest.me/${TEMPLATE_DATABASE}`, fetchEndpoint: server.url },
    () => {},
  );

  const current = await generateSigningKeyJwk("test-current");
  const previous = await generateSigningKeyJwk("test-previous");
  project.provide("neonEndpoint", server.url);
  project.provide("neonAdminOrigin", new URL(server.url).origin);
  project.provide("templateDatabase", TEMPLATE_DATABASE);
  project.provide("databaseBackend", postgresUrl ? "postgres" : "pglite");
  project.provide("jwtSigningKeys", JSON.stringify({ keys: [current, previous] }));
  project.provide("encryptionKeys", generateEncryptionKeyringJson("test-1"));

  return async () => {
    await server.dropDatabase(TEMPLATE_DATABASE);
    await server.close();
  };
}
