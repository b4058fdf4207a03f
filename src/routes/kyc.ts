import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { isDocumentContentType, MAX_DOCUMENT_BYTES } from "../lib/document-inspection";
import { readKyc, saveKycDetails, submitKyc } from "../services/kyc";
import { readOwnKycDocument, uploadKycDocument } from "../services/kyc-documents";
import { DocumentKindParamsSchema, documentContent, documentResponse } from "./documents";
import { KycDetailsBodySchema, KycSchema } from "./kyc-schemas";
import { bearerSecurity, problemResponses, validationHook } from "./schemas";

const SESSION_ENDED = "The session has ended. Sign in again.";
const KYC_LOCKED = "KYC is pending review or approved and cannot be changed.";

const readKycRoute = createRoute({
  method: "get",
  path: "/v1/me/kyc",
  tags: ["KYC"],
  summary: "Read the KYC record",
  description: "The government id number appears only masked (`XXXXXXXX` and its last four characters).",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  responses: {
    200: { description: "The KYC record.", content: { "application/json": { schema: KycSchema } } },
    ...problemResponses(401, 404, 503),
  },
});

const saveKycRoute = createRoute({
  method: "put",
  path: "/v1/me/kyc",
  tags: ["KYC"],
  summary: "Create or replace the KYC details",
  description:
    "Saves the details as a draft. Editing a rejected record turns it back into a draft; a pending or approved record " +
    "answers `409 kyc_locked`. Documents are kept. `status` and every other server-owned field are refused.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { body: { required: true, content: { "application/json": { schema: KycDetailsBodySchema } } } },
  responses: {
    200: { description: "The draft.", content: { "application/json": { schema: KycSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 503),
  },
});

const uploadDocumentRoute = createRoute({
  method: "put",
  path: "/v1/me/kyc/documents/{kind}",
  tags: ["KYC"],
  summary: "Upload a KYC document",
  description:
    "The body is the file itself (not multipart), at most 10 MiB, as `application/pdf`, `image/jpeg` or `image/png`. " +
    "The bytes must start with the signature of the declared type (`%PDF-`, `FF D8 FF`, or the PNG signature), else " +
    "`415`. Replaces the previous file of this kind. Allowed while the record is a draft or rejected (an upload to a " +
    "rejected record makes it a draft again); `409 kyc_locked` otherwise. File names sent by the client are ignored.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { params: DocumentKindParamsSchema, body: { required: true, content: documentContent } },
  responses: {
    200: {
      description: "The KYC record with the new document.",
      content: { "application/json": { schema: KycSchema } },
    },
    ...problemResponses(400, 401, 409, 413, 415, 503),
    413: { ...problemResponses(413)[413], description: "The document is over 10 MiB." },
    415: {
      ...problemResponses(415)[415],
      description: "The declared type is not PDF, JPEG or PNG, or the bytes do not start with its signature.",
    },
  },
});

const downloadDocumentRoute = createRoute({
  method: "get",
  path: "/v1/me/kyc/documents/{kind}",
  tags: ["KYC"],
  summary: "Download an own KYC document",
  description: "Served as an attachment with `X-Content-Type-Options: nosniff` and `Cache-Control: private, no-store`.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { params: DocumentKindParamsSchema },
  responses: {
    200: { description: "The file.", content: documentContent },
    ...problemResponses(400, 401, 404, 503),
  },
});

const submitKycRoute = createRoute({
  method: "post",
  path: "/v1/me/kyc/submit",
  tags: ["KYC"],
  summary: "Submit the KYC record for review",
  description:
    "Moves a draft to `pending`. Required: a business profile, `government_id_type`, `government_id_number`, " +
    "`authorized_person_name`, `trader_type` and the `government_id` document; `gstin_number` and the `business_cert` " +
    "document are optional. Missing items answer `422 kyc_incomplete` listing each in `errors`. A pending or approved " +
    "record answers `409 kyc_locked`; a rejected record must be edited (details or a document) before it is " +
    "submitted again (`409 invalid_transition`). The body, if any, must be an empty JSON object.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { body: { required: false, content: { "application/json": { schema: z.strictObject({}) } } } },
  responses: {
    200: { description: "Submitted.", content: { "application/json": { schema: KycSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 422, 503),
  },
});

/** Read Content-Length: undefined when absent (a chunked body), null when it is not a byte count. */
function parseContentLength(header: string | undefined): number | undefined | null {
  if (header === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(header.trim())) return null;
  return Number(header.trim());
}

export const kycRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(readKycRoute, async (c) => {
    const result = await readKyc(c.get("deps"), c.get("caller"));
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      throw new ApiError("not_found", "You have not started KYC yet.");
    }
    return c.json(result.kyc, 200);
  })
  .openapi(saveKycRoute, async (c) => {
    const body = c.req.valid("json");
    const result = await saveKycDetails(c.get("deps"), c.get("caller"), {
      ...body,
      gstin_number: body.gstin_number ?? null,
    });
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      throw new ApiError("kyc_locked", KYC_LOCKED);
    }
    return c.json(result.kyc, 200);
  })
  .openapi(uploadDocumentRoute, async (c) => {
    const { kind } = c.req.valid("param");
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    if (!isDocumentContentType(mediaType)) {
      throw new ApiError("unsupported_media_type", "Send the document as application/pdf, image/jpeg or image/png.");
    }
    const declaredLengthBytes = parseContentLength(c.req.header("content-length"));
    if (declaredLengthBytes === null) throw new ApiError("validation_failed", "Content-Length is not a byte count.");
    if (declaredLengthBytes !== undefined && declaredLengthBytes > MAX_DOCUMENT_BYTES) {
      throw new ApiError("payload_too_large", `Documents are limited to ${MAX_DOCUMENT_BYTES} bytes (10 MiB).`);
    }
    const body = c.req.raw.body;
    if (body === null || declaredLengthBytes === 0) throw new ApiError("validation_failed", "The document is empty.");

    const result = await uploadKycDocument(c.get("deps"), c.get("caller"), {
      kind,
      contentType: mediaType,
      declaredLengthBytes,
      body,
    });
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      if (result.reason === "kyc_locked") throw new ApiError("kyc_locked", KYC_LOCKED);
      if (result.rejection === "too_large") {
        throw new ApiError("payload_too_large", `Documents are limited to ${MAX_DOCUMENT_BYTES} bytes (10 MiB).`);
      }
      if (result.rejection === "empty") throw new ApiError("validation_failed", "The document is empty.");
      if (result.rejection === "interrupted") {
        throw new ApiError("validation_failed", "The upload ended before the whole document arrived.");
      }
      throw new ApiError("unsupported_media_type", `The bytes are not a ${mediaType} file.`);
    }
    return c.json(result.kyc, 200);
  })
  .openapi(downloadDocumentRoute, async (c) => {
    const { kind } = c.req.valid("param");
    const result = await readOwnKycDocument(c.get("deps"), c.get("caller"), kind);
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      throw new ApiError("not_found", "No document of this kind has been uploaded.");
    }
    return documentResponse(result.document);
  })
  .openapi(submitKycRoute, async (c) => {
    const result = await submitKyc(c.get("deps"), c.get("caller"));
    if (!result.ok) {
      if (result.reason === "unauthorized") throw new ApiError("unauthorized", SESSION_ENDED);
      if (result.reason === "kyc_locked") throw new ApiError("kyc_locked", KYC_LOCKED);
      if (result.reason === "unchanged_since_rejection") {
        throw new ApiError("invalid_transition", "Edit the rejected details or documents before submitting again.");
      }
      throw new ApiError("kyc_incomplete", "Complete the KYC record before submitting it.", { errors: result.errors });
    }
    return c.json(result.kyc, 200);
  });
