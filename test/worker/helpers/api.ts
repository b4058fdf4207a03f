import type { ApiClient } from "../../endpoints/api-client";
import type { TestApp } from "./app";

export interface TestApiOptions {
  /** Headers added to every request, computed per request. */
  headers?: () => Record<string, string>;
  /** Where messages are read from when the app does not use the in-memory mailer. */
  latestMessage?: (address: string) => Promise<string | undefined>;
  /** Plays the OAuth provider, for cases that sign in through one. */
  approveAuthorization?: (authorizationUrl: string, email: string) => Promise<URLSearchParams>;
}

/** The endpoint catalog's view of a test app: in-process requests, captured mail and SMS, direct SQL. */
export function apiOf(t: TestApp, options: TestApiOptions = {}): ApiClient {
  const headers = options.headers ?? (() => ({}));
  return {
    redirectOrigin: "https://client.test",
    request: (method, path, requestOptions = {}) =>
      t.request(method, path, { ...requestOptions, headers: { ...headers(), ...requestOptions.headers } }),
    latestMessage:
      options.latestMessage ??
      (async (address) => {
        const outbox = address.startsWith("+") ? t.sms : t.mailer;
        return outbox.messagesTo(address).at(-1)?.text;
      }),
    query: async (text, params = []) => (await t.sql.query(text, params)) as Record<string, any>[],
    approveAuthorization: options.approveAuthorization,
  };
}

let addressCounter = 0;

/**
 * A new client address from 198.18.0.0/15, the range reserved for benchmarks, so per-address rate
 * limits do not mix the requests of unrelated steps.
 */
export function nextClientAddress(): string {
  addressCounter += 1;
  return `198.18.${Math.floor(addressCounter / 250) % 250}.${(addressCounter % 250) + 1}`;
}

/** Headers that give every request its own client address. */
export const distinctClient = (): Record<string, string> => ({ "cf-connecting-ip": nextClientAddress() });
