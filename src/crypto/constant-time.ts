const utf8 = new TextEncoder();

/**
 * Compares two byte strings without returning early on the first differing byte, so response
 * timing reveals nothing about how much of a guessed digest or token matched. Arrays of different
 * lengths are unequal at once: callers compare fixed-length digests, whose length is no secret.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }

  let difference = 0;
  for (let i = 0; i < a.length; i++) {
    difference |= (a[i] as number) ^ (b[i] as number);
  }
  return difference === 0;
}

/** Compares the UTF-8 bytes of two strings, such as hex digests, in constant time. */
export function constantTimeEqualStrings(a: string, b: string): boolean {
  return constantTimeEqual(utf8.encode(a), utf8.encode(b));
}
