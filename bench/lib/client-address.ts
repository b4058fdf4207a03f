// Client addresses for benchmark requests. `wrangler dev` passes a client's CF-Connecting-IP
// header through, so giving every request its own address keeps the per-client rate limits
// switched on (their KV reads and writes are part of the measured cost) without letting them
// refuse the load.

let counter = 0;

/** The next address from 198.18.0.0/15, the range set aside for benchmarks (RFC 2544). */
export function nextBenchClientAddress(): string {
  counter = (counter + 1) % (2 * 256 * 256 - 2);
  const value = counter + 1;
  return `198.${18 + (value >> 16)}.${(value >> 8) & 0xff}.${value & 0xff}`;
}
