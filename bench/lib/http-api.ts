// The endpoint catalog's ApiClient over HTTP, for a service started in development mode: codes
// and links come from /dev/outbox, SQL goes straight to the local Neon endpoint.
import { neon, neonConfig } from "@neondatabase/serverless";
import type { ApiClient, ApiRequestOptions, ApiResponse } from "../../test/endpoints/api-client";
import { nextBenchClientAddress } from "./client-address";
import type { RunningWorker } from "./stack";

/** Where development mode lets OAuth `redirect_to` point (its default allowed origin). */
const DEVELOPMENT_REDIRECT_ORIGIN = "http://localhost:5173";

export function createHttpApi(worker: RunningWorker): ApiClient {
  neonConfig.fetchEndpoint = worker.neonSqlUrl;
  const sql = neon(`postgres://bench@db.localtest.me/${worker.database}`);

  async function request<T = any>(
    method: string,
    path: string,
    options: ApiRequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers = new Headers(options.headers);
    let body: BodyInit | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    if (options.token !== undefined) headers.set("authorization", `Bearer ${options.token}`);
    if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", nextBenchClientAddress());

    const response = await fetch(`${worker.origin}${path}`, { method, headers, body, redirect: "manual" });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: the caller reads `text`.
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  return {
    request,
    redirectOrigin: DEVELOPMENT_REDIRECT_ORIGIN,
    // Development mode serves every provider from its built-in fake at /dev/oauth/{provider}/authorize,
    // which approves at once when the URL names the person in login_hint.
    async approveAuthorization(authorizationUrl, email) {
      const url = new URL(authorizationUrl);
      url.searchParams.set("login_hint", email);
      const approved = await request("GET", `${url.pathname}${url.search}`);
      if (approved.status !== 302) throw new Error(`The fake provider returned HTTP ${approved.status}`);
      return new URL(approved.headers.get("location") ?? "").searchParams;
    },
    async latestMessage(address) {
      const response = await request<{ messages: { text: string }[] }>(
        "GET",
        `/dev/outbox?to=${encodeURIComponent(address)}`,
      );
      return response.body?.messages?.[0]?.text;
    },
    async query(text, params = []) {
      return (await sql.query(text, params)) as Record<string, any>[];
    },
  };
}
