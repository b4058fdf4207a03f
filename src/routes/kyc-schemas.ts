import { z } from "@hono/zod-openapi";
import { GOVERNMENT_ID_TYPES, KYC_STATUSES, TRADER_TYPES } from "../db/schema";
import { checkGovernmentIdNumber, isValidGstin, normalizeIdNumber, panOfGstin } from "../lib/kyc-validators";
import { optionalText, singleLineText } from "./field-schemas";

const DocumentSchema = z
  .object({
    content_type: z.string().openapi({ example: "application/pdf" }),
    size: z.number().int().openapi({ description: "Size in bytes." }),
    sha256: z.string().openapi({ description: "SHA-256 of the stored bytes, hex." }),
    uploaded_at: z.string(),
  })
  .openapi("KycDocument");

export const KycSchema = z
  .object({
    status: z.enum(KYC_STATUSES),
    government_id_type: z.enum(GOVERNMENT_ID_TYPES).nullable(),
    government_id_number_masked: z
      .string()
      .nullable()
      .openapi({ example: "XXXXXXXX0124", description: "Eight X's and the last four characters." }),
    gstin_number: z.string().nullable(),
    authorized_person_name: z.string().nullable(),
    trader_type: z.enum(TRADER_TYPES).nullable(),
    documents: z.object({ government_id: DocumentSchema.nullable(), business_cert: DocumentSchema.nullable() }),
    submitted_at: z.string().nullable(),
    verified_at: z.string().nullable(),
    rejection_reason: z.string().nullable(),
    updated_at: z.string(),
  })
  .openapi("Kyc");

export const ReviewerKycSchema = KycSchema.extend({
  user_id: z.uuid(),
  government_id_number: z.string().nullable().openapi({ description: "The full number; only reviewers see it." }),
  reviewed_by: z.uuid().nullable(),
  reviewed_at: z.string().nullable(),
}).openapi("ReviewerKyc");

const MAX_ID_NUMBER_INPUT_LENGTH = 40;

/**
 * The KYC details form. Id numbers are normalised (upper case, spaces and hyphens removed) and
 * checked for their type. When the id is a PAN and a GSTIN is given, the PAN inside the GSTIN
 * must be the same one.
 */
export const KycDetailsBodySchema = z
  .strictObject({
    government_id_type: z.enum(GOVERNMENT_ID_TYPES),
    government_id_number: z
      .string()
      .max(MAX_ID_NUMBER_INPUT_LENGTH, { message: `Must be at most ${MAX_ID_NUMBER_INPUT_LENGTH} characters.` })
      .transform(normalizeIdNumber)
      .openapi({
        example: "ABCPE1234F",
        description:
          "Validated by type: PAN `AAAAA9999A` with a valid holder-type fourth letter (P, C, H, F, A, T, B, L, J, G); " +
          "Aadhaar 12 digits not starting with 0 or 1, with a valid Verhoeff check digit; passport 6 to 9 letters and " +
          "digits with at least one digit (ICAO 9303 document numbers; Indian passports are a letter and 7 digits); " +
          "voter id (EPIC) 3 letters and 7 digits; driving licence a 2-letter state code, 2-digit RTO code, 4-digit " +
          "year and 7 digits; national id 4 to 20 letters and digits. Spaces and hyphens are ignored. Stored " +
          "encrypted and shown masked everywhere except to reviewers.",
      }),
    gstin_number: optionalText(
      z
        .string()
        .max(MAX_ID_NUMBER_INPUT_LENGTH, { message: `Must be at most ${MAX_ID_NUMBER_INPUT_LENGTH} characters.` })
        .transform(normalizeIdNumber),
    ).openapi({
      type: "string",
      example: "27ABCPE1234F1ZB",
      description:
        "15 characters: a state code (01 to 38, 97 or 99), the holder's PAN, an entity number, `Z` and a mod-36 " +
        "check character. Optional.",
    }),
    authorized_person_name: singleLineText(1, 150).openapi({ example: "Asha Rao" }),
    trader_type: z.enum(TRADER_TYPES),
  })
  .superRefine((body, context) => {
    const idProblem = checkGovernmentIdNumber(body.government_id_type, body.government_id_number);
    if (idProblem !== null) context.addIssue({ code: "custom", path: ["government_id_number"], message: idProblem });

    const gstin = body.gstin_number ?? null;
    if (gstin === null) return;
    if (!isValidGstin(gstin)) {
      context.addIssue({
        code: "custom",
        path: ["gstin_number"],
        message: "A GSTIN is a state code, a PAN, an entity number, Z and a check character; this one is not valid.",
      });
    } else if (
      body.government_id_type === "pan" &&
      idProblem === null &&
      panOfGstin(gstin) !== body.government_id_number
    ) {
      context.addIssue({
        code: "custom",
        path: ["gstin_number"],
        message: "The PAN inside the GSTIN (characters 3 to 12) must be the PAN given as the government id.",
      });
    }
  })
  .openapi("KycDetailsInput");
