import { encodeHexLowerCase } from "@oslojs/encoding";

const utf8 = new TextEncoder();

/** Computes the SHA-256 digest of the UTF-8 text as lowercase hex (64 characters). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(text));
  return encodeHexLowerCase(new Uint8Array(digest));
}

/**
 * Computes HMAC-SHA-256 of the message under the key. A string key is used as its UTF-8 bytes.
 * The key is imported on every call rather than cached, because module state in a Worker outlives
 * the request and would keep a secret in isolate memory.
 */
export async function hmacSha256(key: Uint8Array | string, message: Uint8Array | string): Promise<Uint8Array> {
  const keyBytes = typeof key === "string" ? utf8.encode(key) : key;
  const messageBytes = typeof message === "string" ? utf8.encode(message) : message;

  const cryptoKey = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", cryptoKey, messageBytes);
  return new Uint8Array(signature);
}

/**
 * Computes HMAC-SHA-256 of the UTF-8 text as lowercase hex (64 characters). Use it instead of
 * {@link sha256Hex} for low-entropy secrets such as 6-digit codes: without the key, a leaked
 * digest can be reversed by hashing all one million codes.
 */
export async function hmacSha256Hex(key: Uint8Array | string, text: string): Promise<string> {
  return encodeHexLowerCase(await hmacSha256(key, text));
}
