const IPV4_PATTERN = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET_PATTERN = /^[0-9a-f]{1,4}$/;

/**
 * Read the client address from the value of `CF-Connecting-IP`, which Cloudflare sets from the TCP
 * connection. Returns a canonical IPv4 dotted quad or a fully expanded, lower-case IPv6 address,
 * or null when the value is missing or not an address. Headers a client can write, such as
 * `X-Forwarded-For`, are never read, so rotating them cannot reset a limit.
 */
export function parseClientIp(headerValue: string | undefined | null): string | null {
  const text = headerValue?.trim().toLowerCase();
  if (text === undefined || text === "" || text.length > 64) return null;
  if (IPV4_PATTERN.test(text)) return text;
  const hextets = expandIpv6(text);
  if (hextets === null) return null;
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 client itself.
  if (hextets.slice(0, 5).every((part) => part === 0) && hextets[5] === 0xffff) {
    const high = hextets[6] ?? 0;
    const low = hextets[7] ?? 0;
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return hextets.map((part) => part.toString(16).padStart(4, "0")).join(":");
}

/**
 * The subject that per-client rate limits count under. An IPv6 client usually controls a whole /64
 * (one customer's subnet), so all addresses of one /64 share a limit; an IPv4 address counts alone.
 */
export function clientIpRateLimitSubject(clientIp: string | null): string {
  if (clientIp === null) return "unknown";
  if (!clientIp.includes(":")) return `ipv4:${clientIp}`;
  return `ipv6:${clientIp.split(":").slice(0, 4).join(":")}::/64`;
}

/** Expand an IPv6 address (with `::` and an optional embedded IPv4 tail) into eight 16-bit parts. */
function expandIpv6(text: string): number[] | null {
  // A zone index (fe80::1%eth0) names a local interface and never reaches a public server.
  if (text.includes("%")) return null;
  let address = text;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(":");
  const lastPart = address.slice(lastColon + 1);
  if (lastPart.includes(".")) {
    if (!IPV4_PATTERN.test(lastPart)) return null;
    const [a, b, c, d] = lastPart.split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    address = `${address.slice(0, lastColon + 1)}`;
    // "::ffff:1.2.3.4" leaves "::ffff:"; drop the trailing colon unless it belongs to "::".
    if (address.endsWith(":") && !address.endsWith("::")) address = address.slice(0, -1);
  }

  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (part === undefined || part === "") return [];
    const pieces = part.split(":");
    if (!pieces.every((piece) => HEXTET_PATTERN.test(piece))) return null;
    return pieces.map((piece) => Number.parseInt(piece, 16));
  };
  const head = parse(halves[0]);
  const rest = parse(halves[1]);
  if (head === null || rest === null) return null;

  const explicitCount = head.length + rest.length + tail.length;
  if (halves.length === 1) {
    return explicitCount === 8 ? [...head, ...tail] : null;
  }
  if (explicitCount > 7) return null;
  return [...head, ...new Array<number>(8 - explicitCount).fill(0), ...rest, ...tail];
}
