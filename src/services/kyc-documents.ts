import { sql } from "drizzle-orm";
import { UpstreamError } from "../errors";
import type { Caller, Dependencies } from "../http/context";
import {
  type DocumentContentType,
  type DocumentRejection,
  inspectDocument,
  MAX_DOCUMENT_BYTES,
} from "../lib/document-inspection";
import { liveCallerQuery } from "./access";
import { auditEventStatement } from "./audit";
import { DOCUMENT_COLUMNS, type DocumentKind, type KycRow, type KycView, toKycView } from "./kyc-view";

export interface DocumentUpload {
  kind: DocumentKind;
  contentType: DocumentContentType;
  /** The request's Content-Length, already checked against the cap; undefined for a chunked body. */
  declaredLengthBytes: number | undefined;
  body: ReadableStream<Uint8Array>;
}

export type UploadDocumentResult =
  | { ok: true; kyc: KycView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "kyc_locked" }
  | { ok: false; reason: "document_rejected"; rejection: DocumentRejection | "interrupted" };

/** A stored document opened for download. */
export interface OpenedDocument {
  kind: DocumentKind;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  body: ReadableStream;
}

export type ReadDocumentResult =
  | { ok: true; document: OpenedDocument }
  | { ok: false; reason: "unauthorized" | "not_found" };

/** The columns of one stored document, as a statement selects them. */
export interface StoredDocumentRow {
  object_key: string | null;
  content_type: string | null;
  size_bytes: number | null;
  sha256: string | null;
}

/**
 * Store a KYC document and record it, replacing the previous one of the same kind.
 *
 * Two round trips. A read first rejects a locked record or a dead session before any byte is
 * stored. After the upload, one batch records the new object only if the record is still
 * editable, and returns the key it replaced under a row lock, so two racing uploads each delete
 * exactly the object they replaced. The bytes stream into R2 under a key the server makes up,
 * `kyc/<user id>/<kind>/<random uuid>`, so nothing the client sends reaches the key.
 */
export async function uploadKycDocument(
  deps: Dependencies,
  caller: Caller,
  upload: DocumentUpload,
): Promise<UploadDocumentResult> {
  const state = await deps.db.execute<{ caller_live: boolean; status: string | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
           (SELECT k.status FROM user_kyc AS k WHERE k.user_id IN (SELECT id FROM caller)) AS status`);
  const current = state.rows[0];
  if (current === undefined || !current.caller_live) return { ok: false, reason: "unauthorized" };
  if (current.status === "pending" || current.status === "approved") return { ok: false, reason: "kyc_locked" };

  const objectKey = `kyc/${caller.userId}/${upload.kind}/${crypto.randomUUID()}`;
  const stored = await storeInBucket(deps.bucket, objectKey, upload);
  if (!stored.ok) {
    deps.log.info("kyc_document_rejected", { user_id: caller.userId, kind: upload.kind, rejection: stored.rejection });
    return { ok: false, reason: "document_rejected", rejection: stored.rejection };
  }

  let recorded: { caller_live: boolean; previous_object_key: string | null; kyc: KycRow | null } | undefined;
  try {
    recorded = await recordDocument(deps, caller, upload, objectKey, stored);
  } catch (error) {
    deps.waitUntil(deps.bucket.delete(objectKey));
    throw error;
  }
  if (recorded === undefined || recorded.kyc === null) {
    // The session ended or the record was submitted while the bytes were streaming.
    deps.waitUntil(deps.bucket.delete(objectKey));
    return recorded?.caller_live === true ? { ok: false, reason: "kyc_locked" } : { ok: false, reason: "unauthorized" };
  }

  const previousKey = recorded.previous_object_key;
  if (previousKey !== null && previousKey !== objectKey) deps.waitUntil(deps.bucket.delete(previousKey));
  deps.log.info("kyc_document_uploaded", { user_id: caller.userId, kind: upload.kind, size_bytes: stored.sizeBytes });
  return { ok: true, kyc: toKycView(recorded.kyc) };
}

async function recordDocument(
  deps: Dependencies,
  caller: Caller,
  upload: DocumentUpload,
  objectKey: string,
  stored: { sizeBytes: number; sha256: string },
) {
  const now = deps.clock.now().toISOString();
  const columns = DOCUMENT_COLUMNS[upload.kind];
  const column = (name: keyof typeof columns) => sql.identifier(columns[name]);

  const [, recorded] = await deps.db.batch([
    // The first upload may come before any details; it starts the draft.
    deps.db.execute(sql`
      INSERT INTO user_kyc (user_id, status, created_at, updated_at)
      SELECT caller.id, 'draft', ${now}::timestamptz, ${now}::timestamptz FROM (${liveCallerQuery(deps, caller)}) AS caller
      ON CONFLICT (user_id) DO NOTHING`),
    deps.db.execute<{ caller_live: boolean; previous_object_key: string | null; kyc: KycRow | null }>(sql`
      WITH caller AS (${liveCallerQuery(deps, caller)}),
      previous AS (
        SELECT k.id, k.${column("objectKey")} AS object_key FROM user_kyc AS k
        WHERE k.user_id IN (SELECT id FROM caller) AND k.status IN ('draft', 'rejected')
        FOR UPDATE),
      stored AS (
        UPDATE user_kyc AS k
        SET ${column("objectKey")} = ${objectKey}, ${column("contentType")} = ${upload.contentType},
            ${column("sizeBytes")} = ${stored.sizeBytes}, ${column("sha256")} = ${stored.sha256},
            ${column("uploadedAt")} = ${now}::timestamptz, status = 'draft', updated_at = ${now}::timestamptz
        FROM previous WHERE k.id = previous.id
        RETURNING k.*, previous.object_key AS previous_object_key),
      audit AS (${auditEventStatement(
        deps,
        {
          action: "kyc.document_uploaded",
          actorUserId: caller.userId,
          metadata: { kind: upload.kind, content_type: upload.contentType, size_bytes: stored.sizeBytes },
        },
        sql`SELECT user_id AS id FROM stored`,
      )})
      SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
             (SELECT previous_object_key FROM stored) AS previous_object_key,
             (SELECT to_jsonb(stored) FROM stored) AS kyc`),
  ]);
  return recorded.rows[0];
}

type StoreResult =
  | { ok: true; sizeBytes: number; sha256: string }
  | { ok: false; rejection: DocumentRejection | "interrupted" };

/**
 * Stream an upload through the inspection into R2, which needs the length before the first byte.
 * A body with a Content-Length streams through a FixedLengthStream of that length, so the Worker
 * holds only the chunks in flight. R2 is called only once the signature has matched, so a file of
 * the wrong type never reaches the bucket. A chunked body has no length up front, so it is
 * collected (at most MAX_DOCUMENT_BYTES, because the inspection fails past that) and then
 * streamed out.
 */
async function storeInBucket(bucket: R2Bucket, objectKey: string, upload: DocumentUpload): Promise<StoreResult> {
  const inspection = inspectDocument(upload.contentType, MAX_DOCUMENT_BYTES);
  const inspected = upload.body.pipeThrough(inspection.transform);
  const put = (body: ReadableStream) =>
    bucket
      .put(objectKey, body, { httpMetadata: { contentType: upload.contentType, contentDisposition: "attachment" } })
      .catch((error: unknown) => {
        throw new UpstreamError("r2", "Storing a KYC document failed", { cause: error });
      });

  try {
    if (upload.declaredLengthBytes !== undefined) {
      const fixedLength = new FixedLengthStream(upload.declaredLengthBytes);
      const piping = inspected.pipeTo(fixedLength.writable);
      await Promise.race([inspection.signatureMatched, piping]);
      await Promise.all([piping, put(fixedLength.readable)]);
    } else {
      const { chunks, sizeBytes } = await collectChunks(inspected);
      const fixedLength = new FixedLengthStream(sizeBytes);
      await Promise.all([writeChunks(fixedLength.writable, chunks), put(fixedLength.readable)]);
    }
  } catch (error) {
    const rejection = inspection.rejection();
    if (rejection !== null) return { ok: false, rejection };
    if (error instanceof UpstreamError) throw error;
    // Reading the request body failed: the client went away or sent less than it declared.
    return { ok: false, rejection: "interrupted" };
  }
  return { ok: true, ...(await inspection.summary()) };
}

async function collectChunks(stream: ReadableStream<Uint8Array>): Promise<{ chunks: Uint8Array[]; sizeBytes: number }> {
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    sizeBytes += chunk.byteLength;
  }
  return { chunks, sizeBytes };
}

/** Write chunks in order, dropping each reference once written so memory is released as it goes. */
async function writeChunks(writable: WritableStream<Uint8Array>, chunks: Uint8Array[]): Promise<void> {
  const writer = writable.getWriter();
  for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) await writer.write(chunk);
  await writer.close();
}

/**
 * Open a document from the bucket. A row whose object is gone (a download racing a replacement)
 * reads as not found rather than failing.
 */
export async function openStoredDocument(
  deps: Dependencies,
  kind: DocumentKind,
  row: StoredDocumentRow,
): Promise<OpenedDocument | null> {
  if (row.object_key === null || row.content_type === null || row.size_bytes === null || row.sha256 === null) {
    return null;
  }

  let object: R2ObjectBody | null;
  try {
    object = await deps.bucket.get(row.object_key);
  } catch (error) {
    throw new UpstreamError("r2", "Reading a KYC document failed", { cause: error });
  }
  if (object === null) {
    deps.log.warn("kyc_document_object_missing", { kind });
    return null;
  }
  return { kind, contentType: row.content_type, sizeBytes: object.size, sha256: row.sha256, body: object.body };
}

/** SQL that selects one document's stored columns from `user_kyc AS k`, named as `StoredDocumentRow`. */
export function storedDocumentColumns(kind: DocumentKind) {
  const columns = DOCUMENT_COLUMNS[kind];
  return sql`k.${sql.identifier(columns.objectKey)} AS object_key, k.${sql.identifier(columns.contentType)} AS content_type,
             k.${sql.identifier(columns.sizeBytes)} AS size_bytes, k.${sql.identifier(columns.sha256)} AS sha256`;
}

/** Read the caller's own document: one round trip, then the bytes from R2. */
export async function readOwnKycDocument(
  deps: Dependencies,
  caller: Caller,
  kind: DocumentKind,
): Promise<ReadDocumentResult> {
  const result = await deps.db.execute<{ caller_live: boolean; document: StoredDocumentRow | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
           (SELECT to_jsonb(d) FROM (
              SELECT ${storedDocumentColumns(kind)} FROM user_kyc AS k WHERE k.user_id IN (SELECT id FROM caller)) AS d
           ) AS document`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (row.document === null) return { ok: false, reason: "not_found" };
  const document = await openStoredDocument(deps, kind, row.document);
  return document === null ? { ok: false, reason: "not_found" } : { ok: true, document };
}
