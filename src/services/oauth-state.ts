import type { OAuthProviderName } from "../config";
import { constantTimeEqualStrings } from "../crypto/constant-time";
import { sha256Hex } from "../crypto/hashing";
import { generateRandomToken } from "../crypto/random";
import { UpstreamError } from "../errors";

/** How long a started sign-in may take before its state is refused. */
export const OAUTH_STATE_TTL_SECONDS = 10 * 60;

const STATE_KEY_PREFIX = "oauth-state:";
const BROWSER_BINDING_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A started flow, kept in KV for its callback under a key derived from the state. */
export interface OAuthFlowState {
  provider: OAuthProviderName;
  codeVerifier: string;
  nonce: string | null;
  redirectTo: string;
  /** Set when a signed-in user links a provider: the user and the session that asked. */
  link: { userId: string; sessionId: string } | null;
  /** SHA-256 of the browser binding cookie set when the flow started. */
  browserBindingHash: string;
  /** Checked against the app clock, because a KV TTL follows real time only. */
  expiresAt: string;
}

/**
 * Choose the browser binding, a random value kept in an HttpOnly cookie. A browser keeps its value
 * across flows, so two sign-ins started in two tabs both complete. A browser without one gets a new one.
 */
export function chooseBrowserBinding(cookieValue: string | undefined): string {
  if (cookieValue !== undefined && BROWSER_BINDING_PATTERN.test(cookieValue)) return cookieValue;
  return generateRandomToken(32);
}

export async function saveFlowState(kv: KVNamespace, state: string, flow: OAuthFlowState): Promise<void> {
  try {
    await kv.put(await stateKey(state), JSON.stringify(flow), { expirationTtl: OAUTH_STATE_TTL_SECONDS });
  } catch (error) {
    throw new UpstreamError("kv", "Storing the OAuth state failed", { cause: error });
  }
}

export type TakeFlowStateResult =
  | { ok: true; flow: OAuthFlowState }
  | { ok: false; reason: "unknown" | "expired" | "other_browser" | "other_provider" };

/**
 * Look up a flow by its state and delete it, so a state works once, then check that it has not
 * expired and that the callback comes from the browser that started the flow and for the same
 * provider.
 *
 * NOTE: KV has no atomic get-and-delete, so two callbacks racing with one state can both read it.
 * Each then redeems the same authorization code, which the provider accepts only once.
 */
export async function takeFlowState(
  kv: KVNamespace,
  input: { state: string; provider: OAuthProviderName; browserBinding: string | undefined; now: Date },
): Promise<TakeFlowStateResult> {
  const key = await stateKey(input.state);
  let flow: OAuthFlowState | null;
  try {
    flow = await kv.get<OAuthFlowState>(key, "json");
    if (flow !== null) await kv.delete(key);
  } catch (error) {
    throw new UpstreamError("kv", "Reading the OAuth state failed", { cause: error });
  }

  if (flow === null) return { ok: false, reason: "unknown" };
  if (new Date(flow.expiresAt).getTime() <= input.now.getTime()) return { ok: false, reason: "expired" };
  if (flow.provider !== input.provider) return { ok: false, reason: "other_provider" };
  const bindingHash = await sha256Hex(input.browserBinding ?? "");
  if (input.browserBinding === undefined || !constantTimeEqualStrings(bindingHash, flow.browserBindingHash)) {
    return { ok: false, reason: "other_browser" };
  }
  return { ok: true, flow };
}

function stateKey(state: string): Promise<string> {
  return sha256Hex(state).then((hash) => `${STATE_KEY_PREFIX}${hash}`);
}
