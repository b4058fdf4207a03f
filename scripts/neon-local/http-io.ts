import type { IncomingMessage, ServerResponse } from "node:http";

export type BodyResult = { ok: true; body: string } | { ok: false; reason: "too_large" };

/**
 * Reads the whole request body as UTF-8. A body over `maxBytes` is read to
 * its end and thrown away, so the client still receives the 413 response
 * instead of a reset connection.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declaredBytes = Number(request.headers["content-length"]);
  let tooLarge = declaredBytes > maxBytes;
  let receivedBytes = 0;
  const chunks: Buffer[] = [];

  for await (const chunk of request as AsyncIterable<Buffer>) {
    receivedBytes += chunk.length;
    if (receivedBytes > maxBytes) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }

  if (tooLarge) return { ok: false, reason: "too_large" };
  return { ok: true, body: Buffer.concat(chunks).toString("utf8") };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status);
  response.end();
}
