import { toIsoString } from "../db/rows";
import type { KYC_STATUSES, TRADER_TYPES } from "../db/schema";
import type { GovernmentIdType } from "../lib/kyc-validators";

export type KycStatus = (typeof KYC_STATUSES)[number];
export type TraderType = (typeof TRADER_TYPES)[number];

export const DOCUMENT_KINDS = ["government_id", "business_cert"] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** The user_kyc columns that hold each document's object key and what the upload check recorded. */
export const DOCUMENT_COLUMNS = {
  government_id: {
    objectKey: "government_id_object_key",
    contentType: "government_id_content_type",
    sizeBytes: "government_id_size_bytes",
    sha256: "government_id_sha256",
    uploadedAt: "government_id_uploaded_at",
  },
  business_cert: {
    objectKey: "business_cert_object_key",
    contentType: "business_cert_content_type",
    sizeBytes: "business_cert_size_bytes",
    sha256: "business_cert_sha256",
    uploadedAt: "business_cert_uploaded_at",
  },
} as const satisfies Record<DocumentKind, Record<string, keyof KycRow>>;

/** A user_kyc row as `to_jsonb` returns it (snake_case, timestamps as text). */
export interface KycRow {
  user_id: string;
  status: KycStatus;
  government_id_type: GovernmentIdType | null;
  government_id_number_encrypted: string | null;
  government_id_number_last4: string | null;
  gstin_number: string | null;
  authorized_person_name: string | null;
  trader_type: TraderType | null;
  government_id_object_key: string | null;
  government_id_content_type: string | null;
  government_id_size_bytes: number | null;
  government_id_sha256: string | null;
  government_id_uploaded_at: string | null;
  business_cert_object_key: string | null;
  business_cert_content_type: string | null;
  business_cert_size_bytes: number | null;
  business_cert_sha256: string | null;
  business_cert_uploaded_at: string | null;
  submitted_at: string | null;
  verified_at: string | null;
  rejection_reason: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  updated_at: string;
}

export interface DocumentView {
  content_type: string;
  size: number;
  sha256: string;
  uploaded_at: string;
}

/** The `Kyc` shape of the API: what the trader and the review actions see. */
export interface KycView {
  status: KycStatus;
  government_id_type: GovernmentIdType | null;
  government_id_number_masked: string | null;
  gstin_number: string | null;
  authorized_person_name: string | null;
  trader_type: TraderType | null;
  documents: Record<DocumentKind, DocumentView | null>;
  submitted_at: string | null;
  verified_at: string | null;
  rejection_reason: string | null;
  updated_at: string;
}

/** What a reviewer sees: the `Kyc` shape plus the owner, the full id number and the last decision. */
export interface ReviewerKycView extends KycView {
  user_id: string;
  government_id_number: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
}

/**
 * Mask an id number from its last four characters. The mask has a fixed length whatever the
 * number's, so it reveals nothing beyond those four.
 */
export function maskGovernmentIdNumber(lastFour: string): string {
  return `XXXXXXXX${lastFour}`;
}

function toDocumentView(row: KycRow, kind: DocumentKind): DocumentView | null {
  const columns = DOCUMENT_COLUMNS[kind];
  const contentType = row[columns.contentType];
  const size = row[columns.sizeBytes];
  const sha256 = row[columns.sha256];
  const uploadedAt = row[columns.uploadedAt];
  if (row[columns.objectKey] === null || contentType === null || size === null || sha256 === null) return null;
  return { content_type: contentType, size, sha256, uploaded_at: toIsoString(uploadedAt) ?? "" };
}

export function toKycView(row: KycRow): KycView {
  return {
    status: row.status,
    government_id_type: row.government_id_type,
    government_id_number_masked:
      row.government_id_number_last4 === null ? null : maskGovernmentIdNumber(row.government_id_number_last4),
    gstin_number: row.gstin_number,
    authorized_person_name: row.authorized_person_name,
    trader_type: row.trader_type,
    documents: {
      government_id: toDocumentView(row, "government_id"),
      business_cert: toDocumentView(row, "business_cert"),
    },
    submitted_at: toIsoString(row.submitted_at),
    verified_at: toIsoString(row.verified_at),
    rejection_reason: row.rejection_reason,
    updated_at: toIsoString(row.updated_at) ?? "",
  };
}
