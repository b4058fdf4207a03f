export const MAX_REDIRECT_URL_LENGTH = 2048;

/**
 * Parse a client's `redirect_to` and accept it only when it is an absolute http(s) URL, without
 * user info, whose origin is one of `allowedOrigins` exactly. The URL parser decides, never a
 * string prefix: relative forms such as `//evil.example` and `/\evil.example` do not parse without
 * a base, and `https:evil.example` parses to the origin `https://evil.example`. Callers redirect
 * to the parsed URL, so the browser follows exactly what was checked.
 */
export function parseAllowedRedirect(value: string, allowedOrigins: readonly string[]): URL | null {
  if (value.length > MAX_REDIRECT_URL_LENGTH) return null;

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }

  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username !== "" || url.password !== "") return null;
  if (!allowedOrigins.includes(url.origin)) return null;
  return url;
}
