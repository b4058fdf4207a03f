/**
 * Find the first object member name that appears twice in one object of `text`, which must already
 * be valid JSON. RFC 8259 leaves such objects to each parser: JSON.parse keeps the last value,
 * while a proxy or log reader in front of the service may keep the first, so the service rejects
 * them. Names compare after unescaping, so "email" and "\u0065mail" are the same name.
 */
export function findRepeatedMemberName(text: string): string | null {
  // One entry per open object or array: the names seen so far, or null for an array.
  const open: (Set<string> | null)[] = [];
  let expectingName = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '"') {
      let end = index + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const names = open.at(-1);
      if (expectingName && names) {
        const literal = text.slice(index, end + 1);
        const name: string = literal.includes("\\") ? JSON.parse(literal) : literal.slice(1, -1);
        if (names.has(name)) return name;
        names.add(name);
        expectingName = false;
      }
      index = end;
    } else if (character === "{") {
      open.push(new Set());
      expectingName = true;
    } else if (character === "[") {
      open.push(null);
      expectingName = false;
    } else if (character === "}" || character === "]") {
      open.pop();
      expectingName = false;
    } else if (character === ",") {
      expectingName = open.at(-1) instanceof Set;
    }
  }
  return null;
}

/**
 * Find the first string in a parsed JSON value, member names included, that contains U+0000, and
 * return its path (`profile.full_name`, `items.2`), or null. Postgres text cannot hold that
 * character, so such a value would fail in the database instead of being rejected as input.
 */
export function findTextWithNul(value: unknown, path = ""): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findTextWithNul(item, joinPath(path, String(index)));
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === "object" && value !== null) {
    for (const [name, item] of Object.entries(value)) {
      if (name.includes("\u0000")) return joinPath(path, name);
      const found = findTextWithNul(item, joinPath(path, name));
      if (found !== null) return found;
    }
  }
  return null;
}

function joinPath(path: string, segment: string): string {
  return path === "" ? segment : `${path}.${segment}`;
}
