import { beginStatement, isSqlError, toResultBody } from "./protocol";
import type { PoolClient, QueryArrayConfig, QueryArrayResult } from "pg";
import type { DatabaseBackend } from "./backends/backend";
import type { QueryResultBody, SqlQuery, SqlRequest, TransactionOptions } from "./protocol";

export type SqlResponseBody = QueryResultBody | { results: QueryResultBody[] };

// Every column comes back as the text Postgres sent, so the driver on the
// other side of the HTTP call picks the parser from the column's type OID,
// as it does against Neon.
const rawTextTypes = { getTypeParser: () => (value: string) => value };

/**
 * Runs a single query in autocommit mode, or a batch inside one transaction
 * that is rolled back entirely when any of its queries fails.
 */
export async function runSqlRequest(backend: DatabaseBackend, request: SqlRequest): Promise<SqlResponseBody> {
  const client = await backend.connect(request.database);

  let connectionFailure: Error | undefined;
  try {
    if (request.kind === "single") return toResultBody(await runQuery(client, request.query), request.arrayMode);

    const results = await runTransaction(client, request.queries, request.transaction);
    return { results: results.map((result) => toResultBody(result, request.arrayMode)) };
  } catch (error) {
    // A failure that is not a Postgres error (a dropped socket, a protocol
    // error) may leave the connection unusable, so the pool discards it.
    if (!isSqlError(error)) connectionFailure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(connectionFailure);
  }
}

async function runTransaction(
  client: PoolClient,
  queries: SqlQuery[],
  options: TransactionOptions,
): Promise<QueryArrayResult<(string | null)[]>[]> {
  await client.query(beginStatement(options));

  try {
    const results: QueryArrayResult<(string | null)[]>[] = [];
    for (const query of queries) results.push(await runQuery(client, query));
    await client.query("COMMIT");
    return results;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

function runQuery(client: PoolClient, { query, params }: SqlQuery): Promise<QueryArrayResult<(string | null)[]>> {
  // The extended protocol, which Neon uses for every query, rejects several
  // statements in one query string, even without parameters.
  const config: QueryArrayConfig & { queryMode: "extended" } = {
    text: query,
    values: params,
    rowMode: "array",
    types: rawTextTypes,
    queryMode: "extended",
  };
  return client.query(config);
}
