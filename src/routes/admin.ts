import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { USER_ROLES, USER_STATUSES } from "../db/schema";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { requireRole } from "../http/roles";
import type { ActorRejection } from "../services/access";
import { AUDIT_ACTIONS } from "../services/audit";
import { listAuditEvents } from "../services/audit-log";
import {
  approveKyc,
  listKycQueue,
  QUEUE_STATUSES,
  readKycDocumentForReview,
  readKycForReview,
  rejectKyc,
} from "../services/review";
import { changeUserRole, listUsers, reactivateUser, suspendUser } from "../services/user-admin";
import { documentContent, documentResponse } from "./documents";
import { multiLineText, PageCursorSchema, PageLimitSchema, UserIdSchema } from "./field-schemas";
import { KycSchema, ReviewerKycSchema } from "./kyc-schemas";
import { bearerSecurity, problemResponses, UserSchema, validationHook } from "./schemas";
import { DOCUMENT_KINDS } from "../services/kyc-view";

const ROLE_NOTE =
  "The role is checked twice: from the access token, then from the database in the statement that does the work, " +
  "so a demoted or suspended account loses access on its next request.";

const TargetParamsSchema = z.strictObject({
  user_id: UserIdSchema.openapi({ param: { name: "user_id", in: "path" } }),
});
const UserParamsSchema = z.strictObject({ id: UserIdSchema.openapi({ param: { name: "id", in: "path" } }) });
const TargetDocumentParamsSchema = TargetParamsSchema.extend({
  kind: z.enum(DOCUMENT_KINDS).openapi({ param: { name: "kind", in: "path" } }),
});

const ReasonBodySchema = z.strictObject({
  reason: multiLineText(1, 1000).openapi({ example: "The PAN card image is unreadable; upload a clearer scan." }),
});
const EmptyBody = { required: false, content: { "application/json": { schema: z.strictObject({}) } } };

const QueueItemSchema = z
  .object({
    user_id: z.uuid(),
    email: z.string().nullable(),
    full_name: z.string().nullable(),
    company_name: z.string().nullable(),
    country_code: z.string().nullable(),
    status: z.enum(QUEUE_STATUSES),
    submitted_at: z.string(),
  })
  .openapi("KycQueueItem");

const NextCursorSchema = z
  .string()
  .nullable()
  .openapi({ description: "Pass as `cursor` for the next page; null on the last." });

const AuditEventSchema = z
  .object({
    id: z.number().int(),
    occurred_at: z.string(),
    action: z.string(),
    actor_user_id: z.uuid().nullable(),
    target_user_id: z.uuid().nullable(),
    request_id: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .openapi("AuditEvent");

const listQueueRoute = createRoute({
  method: "get",
  path: "/v1/admin/kyc",
  tags: ["Review and administration"],
  summary: "List KYC records for review, oldest submission first",
  description: `Records with the given status (default \`pending\`); drafts were never submitted and are not listed, nor are records that deleted accounts leave for the retention period. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("reviewer", "admin")] as const,
  request: {
    query: z.strictObject({
      status: z.enum(QUEUE_STATUSES).optional().default("pending"),
      limit: PageLimitSchema,
      cursor: PageCursorSchema,
    }),
  },
  responses: {
    200: {
      description: "One page.",
      content: {
        "application/json": { schema: z.object({ items: z.array(QueueItemSchema), next_cursor: NextCursorSchema }) },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

const reviewerViewRoute = createRoute({
  method: "get",
  path: "/v1/admin/kyc/{user_id}",
  tags: ["Review and administration"],
  summary: "Read a KYC record with the full government id number",
  description: `Every view is recorded in the audit log as \`kyc.viewed\`. Reviewers cannot open their own record (403). ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("reviewer", "admin")] as const,
  request: { params: TargetParamsSchema },
  responses: {
    200: { description: "The record.", content: { "application/json": { schema: ReviewerKycSchema } } },
    ...problemResponses(400, 401, 403, 404, 503),
  },
});

const reviewerDocumentRoute = createRoute({
  method: "get",
  path: "/v1/admin/kyc/{user_id}/documents/{kind}",
  tags: ["Review and administration"],
  summary: "Download a trader's KYC document",
  description: `Served as an attachment; every download is recorded as \`kyc.document_viewed\` before the file is sent. When R2 fails, the response is 503 and nothing is recorded. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("reviewer", "admin")] as const,
  request: { params: TargetDocumentParamsSchema },
  responses: {
    200: { description: "The file.", content: documentContent },
    ...problemResponses(400, 401, 403, 404, 503),
  },
});

const approveRoute = createRoute({
  method: "post",
  path: "/v1/admin/kyc/{user_id}/approve",
  tags: ["Review and administration"],
  summary: "Approve a pending KYC record",
  description: `Sets \`approved\` and \`verified_at\`, records the reviewer and emails the trader. \`409 invalid_transition\` unless the record is pending; reviewers cannot decide on their own record (403). A deleted account's record, kept for the retention period, is 404. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("reviewer", "admin")] as const,
  request: { params: TargetParamsSchema, body: EmptyBody },
  responses: {
    200: { description: "Approved.", content: { "application/json": { schema: KycSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

const rejectRoute = createRoute({
  method: "post",
  path: "/v1/admin/kyc/{user_id}/reject",
  tags: ["Review and administration"],
  summary: "Reject a pending KYC record",
  description: `Sets \`rejected\` with the reason (1 to 1000 characters), which the trader sees and receives by email; the trader may edit and submit again. \`409 invalid_transition\` unless pending; a deleted account's record is 404. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("reviewer", "admin")] as const,
  request: {
    params: TargetParamsSchema,
    body: { required: true, content: { "application/json": { schema: ReasonBodySchema } } },
  },
  responses: {
    200: { description: "Rejected.", content: { "application/json": { schema: KycSchema } } },
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

const listUsersRoute = createRoute({
  method: "get",
  path: "/v1/admin/users",
  tags: ["Review and administration"],
  summary: "List and search users, newest first (admin)",
  description: `\`q\` matches the start of an email address or username, case-insensitively, or a whole user id. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("admin")] as const,
  request: {
    query: z.strictObject({
      q: z
        .string()
        .trim()
        .max(254)
        .refine((text) => !text.includes("\u0000"), "Text cannot contain the NUL character (U+0000).")
        .optional(),
      status: z.enum(USER_STATUSES).optional(),
      limit: PageLimitSchema,
      cursor: PageCursorSchema,
    }),
  },
  responses: {
    200: {
      description: "One page.",
      content: {
        "application/json": { schema: z.object({ items: z.array(UserSchema), next_cursor: NextCursorSchema }) },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

const suspendRoute = createRoute({
  method: "post",
  path: "/v1/admin/users/{id}/suspend",
  tags: ["Review and administration"],
  summary: "Suspend an account and revoke its sessions (admin)",
  description: `The reason (1 to 1000 characters) goes to the audit log. Suspending a suspended account changes nothing. Admins cannot suspend themselves (403). ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("admin")] as const,
  request: {
    params: UserParamsSchema,
    body: { required: true, content: { "application/json": { schema: ReasonBodySchema } } },
  },
  responses: {
    200: { description: "The account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 403, 404, 413, 415, 503),
  },
});

const reactivateRoute = createRoute({
  method: "post",
  path: "/v1/admin/users/{id}/reactivate",
  tags: ["Review and administration"],
  summary: "Lift a suspension (admin)",
  description: `The account becomes \`active\`, or \`pending_verification\` if it never verified an email or mobile number. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("admin")] as const,
  request: { params: UserParamsSchema, body: EmptyBody },
  responses: {
    200: { description: "The account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 403, 404, 413, 415, 503),
  },
});

const changeRoleRoute = createRoute({
  method: "put",
  path: "/v1/admin/users/{id}/role",
  tags: ["Review and administration"],
  summary: "Change a user's role (admin)",
  description: `A demotion takes effect on the user's next request; a promotion once their access token is refreshed. Admins cannot change their own role (403). ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("admin")] as const,
  request: {
    params: UserParamsSchema,
    body: { required: true, content: { "application/json": { schema: z.strictObject({ role: z.enum(USER_ROLES) }) } } },
  },
  responses: {
    200: { description: "The account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 403, 404, 413, 415, 503),
  },
});

const listAuditRoute = createRoute({
  method: "get",
  path: "/v1/admin/audit",
  tags: ["Review and administration"],
  summary: "Read the audit log, newest first (admin)",
  description: `\`user_id\` keeps events where that user is the actor or the target. ${ROLE_NOTE}`,
  security: bearerSecurity,
  middleware: [requireAccessToken(), requireRole("admin")] as const,
  request: {
    query: z.strictObject({
      user_id: UserIdSchema.optional(),
      action: z.enum(AUDIT_ACTIONS).optional(),
      limit: PageLimitSchema,
      cursor: PageCursorSchema,
    }),
  },
  responses: {
    200: {
      description: "One page.",
      content: {
        "application/json": { schema: z.object({ items: z.array(AuditEventSchema), next_cursor: NextCursorSchema }) },
      },
    },
    ...problemResponses(400, 401, 403, 503),
  },
});

type AdminFailure =
  | ActorRejection
  | "not_found"
  | "own_record"
  | "own_account"
  | "invalid_transition"
  | "invalid_cursor";

const FAILURES: Record<AdminFailure, () => ApiError> = {
  unauthorized: () => new ApiError("unauthorized", "The session has ended. Sign in again."),
  forbidden: () => new ApiError("forbidden", "Your role does not allow this action."),
  not_found: () => new ApiError("not_found", "No such record."),
  own_record: () => new ApiError("forbidden", "Nobody reviews their own KYC record."),
  own_account: () => new ApiError("forbidden", "Admins cannot change their own account's status or role."),
  invalid_transition: () =>
    new ApiError("invalid_transition", "Only a pending KYC record can be approved or rejected."),
  invalid_cursor: () =>
    new ApiError("validation_failed", "The cursor is not one this API issued.", {
      errors: [{ path: "cursor", message: "Pass back the next_cursor of the previous page unchanged." }],
    }),
};

function failure(reason: AdminFailure): ApiError {
  return FAILURES[reason]();
}

export const adminRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(listQueueRoute, async (c) => {
    const result = await listKycQueue(c.get("deps"), c.get("caller"), c.req.valid("query"));
    if (!result.ok) throw failure(result.reason);
    return c.json({ items: result.items, next_cursor: result.next_cursor }, 200);
  })
  .openapi(reviewerViewRoute, async (c) => {
    const result = await readKycForReview(c.get("deps"), c.get("caller"), c.req.valid("param").user_id);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.kyc, 200);
  })
  .openapi(reviewerDocumentRoute, async (c) => {
    const { user_id, kind } = c.req.valid("param");
    const result = await readKycDocumentForReview(c.get("deps"), c.get("caller"), user_id, kind);
    if (!result.ok) throw failure(result.reason);
    return documentResponse(result.document);
  })
  .openapi(approveRoute, async (c) => {
    const result = await approveKyc(c.get("deps"), c.get("caller"), c.req.valid("param").user_id);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.kyc, 200);
  })
  .openapi(rejectRoute, async (c) => {
    const { reason } = c.req.valid("json");
    const result = await rejectKyc(c.get("deps"), c.get("caller"), c.req.valid("param").user_id, reason);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.kyc, 200);
  })
  .openapi(listUsersRoute, async (c) => {
    const result = await listUsers(c.get("deps"), c.get("caller"), c.req.valid("query"));
    if (!result.ok) throw failure(result.reason);
    return c.json({ items: result.items, next_cursor: result.next_cursor }, 200);
  })
  .openapi(suspendRoute, async (c) => {
    const { reason } = c.req.valid("json");
    const result = await suspendUser(c.get("deps"), c.get("caller"), c.req.valid("param").id, reason);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.user, 200);
  })
  .openapi(reactivateRoute, async (c) => {
    const result = await reactivateUser(c.get("deps"), c.get("caller"), c.req.valid("param").id);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.user, 200);
  })
  .openapi(changeRoleRoute, async (c) => {
    const { role } = c.req.valid("json");
    const result = await changeUserRole(c.get("deps"), c.get("caller"), c.req.valid("param").id, role);
    if (!result.ok) throw failure(result.reason);
    return c.json(result.user, 200);
  })
  .openapi(listAuditRoute, async (c) => {
    const { user_id, action, limit, cursor } = c.req.valid("query");
    const result = await listAuditEvents(c.get("deps"), c.get("caller"), { userId: user_id, action, limit, cursor });
    if (!result.ok) throw failure(result.reason);
    return c.json({ items: result.items, next_cursor: result.next_cursor }, 200);
  });
