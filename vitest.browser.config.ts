import { defineConfig } from "vitest/config";

// `npm run test:browser`: the API reference in headless Chromium against `npm run dev`. It is kept
// out of `npm test` because it needs a Chromium binary and starts the whole development stack.
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
