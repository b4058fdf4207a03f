import { COMMON_PASSWORDS } from "../data/common-passwords";
import type { FieldError } from "../errors";

export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordContext {
  email?: string | null;
  username?: string | null;
}

/**
 * Check a password against the policy: a length range counted in code points after NFKC
 * normalisation, no common passwords, and nothing built on the email's local part or the
 * username. There are deliberately no composition rules, which push people to predictable patterns.
 */
export function checkPasswordPolicy(
  password: string,
  minLength: number,
  context: PasswordContext,
  path = "password",
): FieldError | null {
  const normalized = password.normalize("NFKC");
  const length = [...normalized].length;
  if (length < minLength) return { path, message: `Passwords are at least ${minLength} characters.` };
  if (length > PASSWORD_MAX_LENGTH)
    return { path, message: `Passwords are at most ${PASSWORD_MAX_LENGTH} characters.` };

  const lowered = normalized.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered)) {
    return { path, message: "This password is too common. Choose a longer, less predictable one." };
  }

  const personalParts = [context.email?.split("@")[0], context.username]
    .filter((part): part is string => typeof part === "string" && part.length >= 3)
    .map((part) => part.normalize("NFKC").toLowerCase());
  if (personalParts.some((part) => lowered.includes(part))) {
    return { path, message: "Passwords must not contain your email name or username." };
  }
  return null;
}
