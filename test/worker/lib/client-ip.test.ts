import { describe, expect, it } from "vitest";
import { clientIpRateLimitSubject, parseClientIp } from "../../../src/lib/client-ip";

describe("parseClientIp", () => {
  it.each([
    ["203.0.113.10", "203.0.113.10"],
    [" 198.51.100.7 ", "198.51.100.7"],
    ["2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"],
    ["2001:DB8:0:0:1::", "2001:0db8:0000:0000:0001:0000:0000:0000"],
    ["::1", "0000:0000:0000:0000:0000:0000:0000:0001"],
    ["::", "0000:0000:0000:0000:0000:0000:0000:0000"],
    ["::ffff:203.0.113.10", "203.0.113.10"],
    ["::ffff:cb00:710a", "203.0.113.10"],
    ["64:ff9b::203.0.113.10", "0064:ff9b:0000:0000:0000:0000:cb00:710a"],
  ])("reads %s", (input, expected) => {
    expect(parseClientIp(input)).toBe(expected);
  });

  it.each([
    undefined,
    null,
    "",
    "unknown",
    "203.0.113.10, 198.51.100.1",
    "256.1.1.1",
    "1.2.3",
    "01.2.3.4",
    "2001:db8::1::2",
    "2001:db8:1:2:3:4:5:6:7",
    "fe80::1%eth0",
    "12345::",
    "2001:db8::g",
  ])("rejects %j", (input) => {
    expect(parseClientIp(input)).toBeNull();
  });
});

describe("clientIpRateLimitSubject", () => {
  it("keeps an IPv4 address whole", () => {
    expect(clientIpRateLimitSubject("203.0.113.10")).toBe("ipv4:203.0.113.10");
  });

  it("groups IPv6 addresses by /64", () => {
    const first = clientIpRateLimitSubject(parseClientIp("2001:db8:1:2::1"));
    const second = clientIpRateLimitSubject(parseClientIp("2001:db8:1:2:ffff:eeee:dddd:cccc"));
    const otherNetwork = clientIpRateLimitSubject(parseClientIp("2001:db8:1:3::1"));

    expect(first).toBe("ipv6:2001:0db8:0001:0002::/64");
    expect(second).toBe(first);
    expect(otherNetwork).not.toBe(first);
  });

  it("puts clients without an address together", () => {
    expect(clientIpRateLimitSubject(null)).toBe("unknown");
  });
});
