import { z } from "@hono/zod-openapi";
import { DOCUMENT_CONTENT_TYPES } from "../lib/document-inspection";
import type { OpenedDocument } from "../services/kyc-documents";
import { DOCUMENT_KINDS } from "../services/kyc-view";

const FILE_EXTENSIONS: Record<string, string> = {
  "application/pdf": "pdf",
  "image/jpeg": "jpg",
  "image/png": "png",
};

export const DocumentKindParamsSchema = z.strictObject({
  kind: z.enum(DOCUMENT_KINDS).openapi({ param: { name: "kind", in: "path" }, example: "government_id" }),
});

const BinarySchema = z.string().openapi({ type: "string", format: "binary" });

/** OpenAPI content entries for a document body, one per accepted type. */
export const documentContent = Object.fromEntries(
  DOCUMENT_CONTENT_TYPES.map((type) => [type, { schema: BinarySchema }]),
) as Record<(typeof DOCUMENT_CONTENT_TYPES)[number], { schema: typeof BinarySchema }>;

/**
 * Serve a stored document as a download. It is always an attachment under a name the server makes
 * up, typed as the upload check recorded it, with nosniff so no browser renders it as anything
 * else, and never cached by a shared cache or kept on disk.
 */
export function documentResponse(document: OpenedDocument): Response {
  const extension = FILE_EXTENSIONS[document.contentType] ?? "bin";
  return new Response(document.body, {
    status: 200,
    headers: {
      "content-type": document.contentType,
      "content-length": String(document.sizeBytes),
      "content-disposition": `attachment; filename="${document.kind}.${extension}"`,
      "x-content-type-options": "nosniff",
      "cache-control": "private, no-store",
      etag: `"${document.sha256}"`,
    },
  });
}
