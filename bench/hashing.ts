// The cost of one password hash alone (PBKDF2-HMAC-SHA-512, 100,000 iterations, after the HMAC
// pepper), with the service's own function under Node's Web Crypto. workerd's Web Crypto uses
// BoringSSL, so the login CPU figures measured in workerd are the check on this number.
import { hashPassword, PASSWORD_HASH_ITERATIONS } from "../src/crypto/password-hash";

export interface HashingResult {
  iterations: number;
  samples: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
}

export async function measurePasswordHashing(samples = 20): Promise<HashingResult> {
  const pepper = "bench-pepper-0123456789abcdef0123456789abcdef";
  await hashPassword("warm-up passphrase", pepper);

  const durations: number[] = [];
  for (let index = 0; index < samples; index++) {
    const started = performance.now();
    await hashPassword(`bench passphrase number ${index}`, pepper);
    durations.push(performance.now() - started);
  }
  return {
    iterations: PASSWORD_HASH_ITERATIONS,
    samples,
    meanMs: durations.reduce((sum, value) => sum + value, 0) / samples,
    minMs: Math.min(...durations),
    maxMs: Math.max(...durations),
  };
}
