import { z } from "@hono/zod-openapi";

// Control characters (Unicode category Cc) have no place in names or reasons, and Postgres
// rejects NUL in text outright.
const CONTROL_CHARACTER = /\p{Cc}/u;
const LINE_BREAKS_AND_TABS = /[\n\r\t]/g;
// An unpaired UTF-16 surrogate cannot be stored as UTF-8.
const LONE_SURROGATE = /\p{Cs}/u;

/** Build a schema for one trimmed line of `min` to `max` UTF-16 code units without control characters. */
export function singleLineText(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min, { message: min === 1 ? "Must not be empty." : `Must be at least ${min} characters.` })
    .max(max, { message: `Must be at most ${max} characters.` })
    .refine((value) => !CONTROL_CHARACTER.test(value) && !LONE_SURROGATE.test(value), {
      message: "Must not contain control characters or invalid Unicode.",
    });
}

/** Build a schema like `singleLineText` that also allows line breaks and tabs. */
export function multiLineText(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min, { message: min === 1 ? "Must not be empty." : `Must be at least ${min} characters.` })
    .max(max, { message: `Must be at most ${max} characters.` })
    .refine(
      (value) => !CONTROL_CHARACTER.test(value.replace(LINE_BREAKS_AND_TABS, "")) && !LONE_SURROGATE.test(value),
      {
        message: "Must not contain control characters or invalid Unicode.",
      },
    );
}

/** Make a field optional, reading null, an absent field and a blank string all as "none". */
export function optionalText<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) => (typeof value === "string" && value.trim() === "" ? null : value),
    schema.nullable().optional(),
  );
}

/** An absolute https URL without credentials, stored in its normalised form. */
export const HttpsUrlSchema = z
  .string()
  .max(2048, { message: "Must be at most 2048 characters." })
  .transform((value, context) => {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      context.addIssue({ code: "custom", message: "Must be an absolute https URL." });
      return z.NEVER;
    }
    if (url.protocol !== "https:" || url.hostname === "" || url.username !== "" || url.password !== "") {
      context.addIssue({ code: "custom", message: "Must be an https URL without a user name or password." });
      return z.NEVER;
    }
    return url.href;
  })
  .openapi({ type: "string", format: "uri", example: "https://cdn.example.com/logo.png" });

/** A user id in a path or body. */
export const UserIdSchema = z.uuid({ message: "Must be a user id (UUID)." }).openapi({ format: "uuid" });

/** `limit` in a query string: a whole number from 1 to 100, 50 when absent. */
export const PageLimitSchema = z
  .string()
  .regex(/^[0-9]{1,3}$/, { message: "Must be a whole number from 1 to 100." })
  .transform(Number)
  .pipe(z.number().int().min(1, { message: "Must be at least 1." }).max(100, { message: "Must be at most 100." }))
  .optional()
  .transform((value) => value ?? 50)
  .openapi({ type: "integer", minimum: 1, maximum: 100, default: 50 });

/** `cursor` in a query string: the `next_cursor` of the previous page, passed back unchanged. */
export const PageCursorSchema = z
  .string()
  .max(512)
  .optional()
  .openapi({ description: "The `next_cursor` of the previous page, passed back unchanged." });
