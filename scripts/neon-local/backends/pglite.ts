import { access, mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { assertValidDatabaseName, SqlStateError, sqlState } from "./backend";
import type { PoolClient } from "pg";
import type { DatabaseBackend } from "./backend";

export interface PgliteBackendOptions {
  /** Directory with one PGlite data directory per database. Databases live in memory when it is absent. */
  dataDir?: string;
  logger: (line: string) => void;
}

interface ServedDatabase {
  db: PGlite;
  socketServer: PGLiteSocketServer;
  pool: pg.Pool;
}

/**
 * Runs one PGlite instance per database name, each behind its own wire-protocol
 * socket so node-postgres talks to it exactly as it talks to a real server.
 *
 * A database that does not exist yet is created empty on first use, the way an
 * embedded database file appears when it is first opened, so a development
 * server needs no setup step.
 *
 * NOTE: inside every instance the database is named "postgres", so
 * current_database() returns "postgres", not the name in the connection string.
 */
export class PgliteBackend implements DatabaseBackend {
  readonly #dataDir: string | undefined;
  readonly #logger: (line: string) => void;
  readonly #databases = new Map<string, Promise<ServedDatabase>>();
  /**
   * Data directory images of templates, reused by later clones until a SQL
   * request reaches the template again.
   */
  readonly #templateImages = new Map<string, Promise<Blob>>();
  #blankImage: Promise<Blob> | undefined;

  constructor(options: PgliteBackendOptions) {
    this.#dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
    this.#logger = options.logger;
  }

  async connect(database: string): Promise<PoolClient> {
    assertValidDatabaseName(database);

    const served = await this.#track(database, () => this.#openOrCreate(database));
    const client = await served.pool.connect();
    // The cached image is dropped only once this request has the single
    // connection. A dump needs that connection too, so any image cached
    // before this line is dropped, and any dump after it contains this
    // request's writes.
    this.#templateImages.delete(database);
    return client;
  }

  async createDatabase(name: string, template?: string): Promise<void> {
    assertValidDatabaseName(name);
    if (template !== undefined) assertValidDatabaseName(template);
    if (this.#databases.has(name)) throw duplicateDatabaseError(name);

    await this.#track(name, async () => {
      if (await this.#existsOnDisk(name)) throw duplicateDatabaseError(name);

      const image = template === undefined ? await this.#loadBlankImage() : await this.#loadTemplateImage(template);
      return this.#start(name, image);
    });
  }

  async dropDatabase(name: string): Promise<void> {
    assertValidDatabaseName(name);

    const served = this.#databases.get(name);
    this.#databases.delete(name);
    this.#templateImages.delete(name);
    if (served !== undefined) await stopServingIfOpened(served);

    const path = this.#pathOf(name);
    if (path !== undefined) await rm(path, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    const all = [...this.#databases.values()];
    this.#databases.clear();
    this.#templateImages.clear();
    await Promise.all(all.map(stopServingIfOpened));
  }

  /**
   * Registers the opening of `name` before its first await, so concurrent
   * requests for the same database share one PGlite instance.
   */
  #track(name: string, open: () => Promise<ServedDatabase>): Promise<ServedDatabase> {
    const existing = this.#databases.get(name);
    if (existing !== undefined) return existing;

    const opening = open();
    this.#databases.set(name, opening);
    opening.catch(() => {
      if (this.#databases.get(name) === opening) this.#databases.delete(name);
    });
    return opening;
  }

  async #openOrCreate(name: string): Promise<ServedDatabase> {
    if (await this.#existsOnDisk(name)) return this.#start(name);

    return this.#start(name, await this.#loadBlankImage());
  }

  /** Starts PGlite on the data directory of `name`, first filling it from `image` when given. */
  async #start(name: string, image?: Blob): Promise<ServedDatabase> {
    if (this.#dataDir !== undefined) await mkdir(this.#dataDir, { recursive: true });

    const db = await PGlite.create({ dataDir: this.#pathOf(name), loadDataDir: image });
    return serve(db, this.#logger);
  }

  #loadTemplateImage(template: string): Promise<Blob> {
    const cached = this.#templateImages.get(template);
    if (cached !== undefined) return cached;

    const dumping = this.#dumpTemplate(template);
    this.#templateImages.set(template, dumping);
    dumping.catch(() => {
      if (this.#templateImages.get(template) === dumping) this.#templateImages.delete(template);
    });
    return dumping;
  }

  async #dumpTemplate(template: string): Promise<Blob> {
    if (!this.#databases.has(template) && !(await this.#existsOnDisk(template))) {
      throw new SqlStateError(sqlState.invalidCatalogName, `template database "${template}" does not exist`);
    }
    const served = await this.#track(template, () => this.#openOrCreate(template));

    // Holding the only pool connection keeps SQL requests, and so any open
    // batch transaction, out of the copy.
    const client = await served.pool.connect();
    try {
      return await served.db.dumpDataDir("none");
    } finally {
      client.release();
    }
  }

  /**
   * Loads a data directory image of a freshly initialised cluster, made once
   * per backend: with PGlite 0.5.14 on a 2-core machine, initdb takes about
   * 2 s and starting from an image about 0.3 s.
   */
  #loadBlankImage(): Promise<Blob> {
    if (this.#blankImage === undefined) {
      this.#blankImage = createBlankImage();
      this.#blankImage.catch(() => {
        this.#blankImage = undefined;
      });
    }
    return this.#blankImage;
  }

  #pathOf(name: string): string | undefined {
    return this.#dataDir === undefined ? undefined : join(this.#dataDir, name);
  }

  async #existsOnDisk(name: string): Promise<boolean> {
    const path = this.#pathOf(name);
    if (path === undefined) return false;

    try {
      await access(join(path, "PG_VERSION"));
      return true;
    } catch {
      return false;
    }
  }
}

async function createBlankImage(): Promise<Blob> {
  const db = await PGlite.create();
  try {
    return await db.dumpDataDir("none");
  } finally {
    await db.close();
  }
}

async function serve(db: PGlite, logger: (line: string) => void): Promise<ServedDatabase> {
  // PGlite executes one protocol message at a time. The socket server queues
  // messages and keeps a transaction on the connection that opened it, and a
  // pool of one connection queues whole requests in front of that. The socket
  // server accepts a few connections so that a replacement connection is not
  // rejected while the server is still closing the one it replaces.
  const socketServer = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 });
  try {
    await socketServer.start();
  } catch (error) {
    await db.close();
    throw error;
  }

  const pool = new pg.Pool({
    connectionString: `postgres://postgres@${socketServer.getServerConn()}/postgres`,
    max: 1,
    idleTimeoutMillis: 0,
  });
  pool.on("error", (error) => {
    logger(JSON.stringify({ event: "pglite_connection_error", message: error.message }));
  });

  return { db, socketServer, pool };
}

/** Stops a database once it has opened. One that failed to open has nothing to stop. */
async function stopServingIfOpened(opening: Promise<ServedDatabase>): Promise<void> {
  let served: ServedDatabase;
  try {
    served = await opening;
  } catch {
    return;
  }

  await served.pool.end();
  await served.socketServer.stop();
  await served.db.close();
}

function duplicateDatabaseError(name: string): SqlStateError {
  return new SqlStateError(sqlState.duplicateDatabase, `database "${name}" already exists`);
}
