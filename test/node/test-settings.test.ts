import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// wrangler hands a developer's .dev.vars to the workerd tests too, so every setting the service
// reads has to be pinned in vitest.config.ts, or a local value could change what the tests see.
describe("the worker tests' settings", () => {
  it("pin every setting that .dev.vars.example documents", () => {
    const documented = [...readFileSync(".dev.vars.example", "utf8").matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map(
      (match) => match[1] as string,
    );
    const config = readFileSync("vitest.config.ts", "utf8");
    const unpinned = [...new Set(documented)].filter((name) => !new RegExp(`\\b${name}:`).test(config));

    expect(documented.length).toBeGreaterThan(20);
    expect(unpinned).toEqual([]);
  });
});
