/** The largest KYC document accepted: 10 MiB. */
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

export const DOCUMENT_CONTENT_TYPES = ["application/pdf", "image/jpeg", "image/png"] as const;
export type DocumentContentType = (typeof DOCUMENT_CONTENT_TYPES)[number];

// The bytes every file of each type starts with: "%PDF-" (ISO 32000), the JPEG start-of-image
// marker followed by another marker, and the 8-byte PNG signature (RFC 2083).
const SIGNATURES: Record<DocumentContentType, Uint8Array> = {
  "application/pdf": new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d]),
  "image/jpeg": new Uint8Array([0xff, 0xd8, 0xff]),
  "image/png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
};

export type DocumentRejection = "too_large" | "type_mismatch" | "empty";

/** Raised inside the stream when the bytes break a rule; the upload is then abandoned. */
export class DocumentRejectedError extends Error {
  readonly rejection: DocumentRejection;

  constructor(rejection: DocumentRejection) {
    super(`Document rejected: ${rejection}`);
    this.name = "DocumentRejectedError";
    this.rejection = rejection;
  }
}

export function isDocumentContentType(value: string): value is DocumentContentType {
  return (DOCUMENT_CONTENT_TYPES as readonly string[]).includes(value);
}

export interface DocumentInspection {
  /** Pipe the upload through this; it passes the bytes on unchanged once the signature matched. */
  transform: TransformStream<Uint8Array, Uint8Array>;
  /** Set when the stream failed because of the bytes themselves. */
  rejection(): DocumentRejection | null;
  /** Resolves once the first bytes matched the signature; rejects when the bytes were rejected before that. */
  signatureMatched: Promise<void>;
  /** Size and SHA-256 (hex) of everything that passed; resolves after the stream has ended. */
  summary(): Promise<{ sizeBytes: number; sha256: string }>;
}

/**
 * Inspect an upload while it streams: count its bytes and fail past `maxBytes`, check that it
 * starts with the signature of `contentType`, and hash it with SHA-256. Nothing is passed on until
 * the signature is confirmed, and only the first few bytes are held back for that, so memory use
 * stays at a few chunks whatever the size of the file.
 */
export function inspectDocument(contentType: DocumentContentType, maxBytes = MAX_DOCUMENT_BYTES): DocumentInspection {
  const signature = SIGNATURES[contentType];
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  // Aborting the digest rejects `digest.digest`; that is expected, and summary() is never called then.
  digest.digest.catch(() => {});
  let sizeBytes = 0;
  let heldBack: Uint8Array[] = [];
  let heldBackBytes = 0;
  let hasMatchedSignature = false;
  let rejection: DocumentRejection | null = null;
  let resolveSignature = () => {};
  let rejectSignature: (error: Error) => void = () => {};
  const signatureMatched = new Promise<void>((resolve, reject) => {
    resolveSignature = resolve;
    rejectSignature = reject;
  });
  // Callers race this against the stream, so its rejection may have no other listener.
  signatureMatched.catch(() => {});

  const reject = (reason: DocumentRejection): never => {
    rejection = reason;
    const error = new DocumentRejectedError(reason);
    digestWriter.abort(error).catch(() => {});
    rejectSignature(error);
    throw error;
  };

  const transform = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      sizeBytes += chunk.byteLength;
      if (sizeBytes > maxBytes) reject("too_large");
      await digestWriter.write(chunk);
      if (hasMatchedSignature) {
        controller.enqueue(chunk);
        return;
      }

      heldBack.push(chunk);
      heldBackBytes += chunk.byteLength;
      if (heldBackBytes < signature.length) return;
      if (!startsWith(heldBack, signature)) reject("type_mismatch");
      hasMatchedSignature = true;
      resolveSignature();
      for (const heldChunk of heldBack) controller.enqueue(heldChunk);
      heldBack = [];
    },
    async flush() {
      if (!hasMatchedSignature) reject(sizeBytes === 0 ? "empty" : "type_mismatch");
      await digestWriter.close();
    },
  });

  return {
    transform,
    rejection: () => rejection,
    signatureMatched,
    summary: async () => ({ sizeBytes, sha256: toHex(new Uint8Array(await digest.digest)) }),
  };
}

function startsWith(chunks: Uint8Array[], signature: Uint8Array): boolean {
  let index = 0;
  for (const chunk of chunks) {
    for (const byte of chunk) {
      if (index === signature.length) return true;
      if (byte !== signature[index]) return false;
      index++;
    }
  }
  return index === signature.length;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
