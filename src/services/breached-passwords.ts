import { encodeHexUpperCase } from "@oslojs/encoding";
import type { FieldError } from "../errors";
import type { Dependencies } from "../http/context";
import { checkPasswordPolicy, type PasswordContext } from "./password-policy";

const PWNED_PASSWORDS_RANGE_URL = "https://api.pwnedpasswords.com/range/";
const PWNED_PASSWORDS_TIMEOUT_MS = 1500;
const SHA1_PREFIX_LENGTH = 5;

/** Check a password that is about to be set: the policy first, then the optional breach check. */
export async function checkNewPassword(
  deps: Dependencies,
  password: string,
  context: PasswordContext,
  path: string,
): Promise<FieldError | null> {
  const policyError = checkPasswordPolicy(password, deps.config.passwordMinLength, context, path);
  return policyError ?? (await checkBreachedPassword(deps, password, path));
}

/**
 * Check a new password against the Pwned Passwords corpus when `BREACHED_PASSWORD_CHECK` is on.
 *
 * k-anonymity: only the first 5 hex digits of the password's SHA-1 leave the Worker, and the
 * service returns every suffix in that range, padded with fake ones, so it never learns which
 * password was checked. The check fails open: a timeout, an HTTP error or an unreadable body lets
 * the password through, because an outage of a third-party service must not block password resets.
 */
export async function checkBreachedPassword(
  deps: Dependencies,
  password: string,
  path: string,
): Promise<FieldError | null> {
  if (!deps.config.breachedPasswordCheck) return null;

  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password.normalize("NFKC")));
  const sha1 = encodeHexUpperCase(new Uint8Array(digest));
  const prefix = sha1.slice(0, SHA1_PREFIX_LENGTH);
  const suffix = sha1.slice(SHA1_PREFIX_LENGTH);

  let body: string;
  try {
    const response = await fetch(`${PWNED_PASSWORDS_RANGE_URL}${prefix}`, {
      headers: { "add-padding": "true" },
      signal: AbortSignal.timeout(PWNED_PASSWORDS_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.body?.cancel();
      deps.log.warn("breached_password_check_failed", { status: response.status });
      return null;
    }
    body = await response.text();
  } catch (error) {
    deps.log.warn("breached_password_check_failed", { error_name: error instanceof Error ? error.name : "unknown" });
    return null;
  }

  if (!isInRange(body, suffix)) return null;
  return { path, message: "This password appears in known data breaches. Choose a different one." };
}

/** Check whether the range body (`SUFFIX:COUNT` lines) lists `suffix`; padding entries have a count of 0. */
function isInRange(body: string, suffix: string): boolean {
  for (const line of body.split("\n")) {
    const [lineSuffix, count] = line.trim().split(":");
    if (lineSuffix?.toUpperCase() === suffix && Number(count) > 0) return true;
  }
  return false;
}
