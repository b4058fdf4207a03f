/** Mask an email address for display: `jane@example.com` becomes `j***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** Mask a phone number for display, keeping the country code's first digits and the last two. */
export function maskPhoneNumber(e164: string): string {
  if (e164.length < 6) return "***";
  return `${e164.slice(0, 3)}******${e164.slice(-2)}`;
}
