// The API reference as a person sees it: `npm run dev` on free ports with a throwaway database and
// settings, `/docs` in headless Chromium, and a screenshot in test-results/docs.png. Requests that
// leave the local server are blocked and fail the test, because /docs must work offline.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Every path of the public API contract, in the contract's `{param}` spelling. */
const CONTRACT_PATHS = [
  "/health",
  "/health/ready",
  "/.well-known/jwks.json",
  "/openapi.json",
  "/docs",
  "/v1/countries",
  "/v1/auth/signup",
  "/v1/auth/email/verify",
  "/v1/auth/email/resend",
  "/v1/auth/login",
  "/v1/auth/otp/request",
  "/v1/auth/otp/verify",
  "/v1/auth/token/refresh",
  "/v1/auth/logout",
  "/v1/auth/logout-all",
  "/v1/auth/sessions",
  "/v1/auth/sessions/{id}",
  "/v1/auth/password/forgot",
  "/v1/auth/password/reset",
  "/v1/auth/oauth/{provider}/start",
  "/v1/auth/oauth/{provider}/callback",
  "/v1/auth/oauth/exchange",
  "/v1/me/oauth/{provider}/link",
  "/v1/me/oauth-accounts",
  "/v1/me/oauth-accounts/{provider}",
  "/v1/me",
  "/v1/me/password",
  "/v1/me/email",
  "/v1/me/email/verify",
  "/v1/me/mobile",
  "/v1/me/mobile/verify",
  "/v1/me/profile",
  "/v1/me/kyc",
  "/v1/me/kyc/documents/{kind}",
  "/v1/me/kyc/submit",
  "/v1/admin/kyc",
  "/v1/admin/kyc/{user_id}",
  "/v1/admin/kyc/{user_id}/documents/{kind}",
  "/v1/admin/kyc/{user_id}/approve",
  "/v1/admin/kyc/{user_id}/reject",
  "/v1/admin/users",
  "/v1/admin/users/{id}/suspend",
  "/v1/admin/users/{id}/reactivate",
  "/v1/admin/users/{id}/role",
  "/v1/admin/audit",
  "/dev/outbox",
];

/** Served by the Worker but not operations of the OpenAPI document itself. */
const UNDOCUMENTED_PATHS = new Set(["/openapi.json", "/docs"]);

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const STARTUP_TIMEOUT_MS = 120_000;
const SCREENSHOT_PATH = "test-results/docs.png";

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("The operating system assigned no port."));
      });
    });
  });
}

/** Poll `/health` until it returns 200, failing early with the dev server's output if it exits. */
async function waitForHealth(origin: string, devServer: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (devServer.exitCode !== null) {
      throw new Error(`npm run dev exited with code ${devServer.exitCode}:\n${output.join("")}`);
    }
    try {
      const response = await fetch(`${origin}/health`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${origin}/health did not return 200 within ${STARTUP_TIMEOUT_MS} ms:\n${output.join("")}`);
}

/** Stop the dev server and everything it started, which share its process group. */
async function stopDevServer(devServer: ChildProcess): Promise<void> {
  if (devServer.pid === undefined || devServer.exitCode !== null) return;
  const exited = new Promise((resolve) => devServer.once("exit", resolve));
  process.kill(-devServer.pid, "SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut && devServer.exitCode === null) process.kill(-devServer.pid, "SIGKILL");
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Scroll to the end of the reference, so operations that the page renders only when they come
 * into view are in the document before its text is read.
 */
async function scrollThrough(page: Page): Promise<void> {
  let previousHeight = -1;
  for (let step = 0; step < 50; step++) {
    const height = await page.evaluate<number>("document.documentElement.scrollHeight");
    if (height === previousHeight) return;
    previousHeight = height;
    await page.mouse.wheel(0, height);
    await page.waitForTimeout(250);
  }
}

describe("API reference", () => {
  let workDir: string;
  let devServer: ChildProcess;
  let browser: Browser;
  let origin: string;
  let documentedPaths: string[];
  let pageText: string;
  const devOutput: string[] = [];
  const blockedRequests: string[] = [];
  const localRequests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "docs-test-"));
    const [port, neonPort] = [await findFreePort(), await findFreePort()];
    origin = `http://127.0.0.1:${port}`;

    const args = ["run", "dev", "--", "--port", String(port), "--neon-port", String(neonPort)];
    args.push("--data-dir", join(workDir, "pglite"), "--dev-vars", join(workDir, "dev.vars"));
    args.push("--persist-to", join(workDir, "wrangler-state"));
    devServer = spawn("npm", args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    devServer.stdout?.on("data", (chunk: Buffer) => devOutput.push(chunk.toString()));
    devServer.stderr?.on("data", (chunk: Buffer) => devOutput.push(chunk.toString()));
    await waitForHealth(origin, devServer, devOutput);

    const openApi = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    documentedPaths = Object.keys(openApi.paths);

    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${origin}/`)) {
        localRequests.push(new URL(url).pathname);
        return route.continue();
      }
      blockedRequests.push(url);
      return route.abort();
    });

    const page = await context.newPage();
    // The page's CSP stops a reference to another origin before any request is made, and reports
    // it as a console error, so console errors count as attempts to load from elsewhere.
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await page.goto(`${origin}/docs`, { waitUntil: "networkidle" });
    await page.getByText("Trade Identity API").first().waitFor();
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: SCREENSHOT_PATH });

    await scrollThrough(page);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, without hidden nodes, is what a reader sees.
    pageText = await page.locator("body").innerText();
  }, STARTUP_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    if (devServer !== undefined) await stopDevServer(devServer);
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  it("renders the reference offline", () => {
    expect(blockedRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(localRequests).toContain("/docs/scalar.js");
    expect(localRequests).toContain("/openapi.json");
    expect(pageText).toContain("Trade Identity API");
  });

  it("lists every documented path", () => {
    expect(documentedPaths.length).toBeGreaterThan(0);
    const missing = documentedPaths.filter((path) => !pageText.includes(path));
    expect(missing).toEqual([]);
  });

  it("documents only contract paths", () => {
    const contract = new Set(CONTRACT_PATHS);
    expect(documentedPaths.filter((path) => !contract.has(path))).toEqual([]);
  });

  it("lists every implemented contract path", () => {
    const implemented = CONTRACT_PATHS.filter((path) => documentedPaths.includes(path));
    const notImplemented = CONTRACT_PATHS.filter(
      (path) => !documentedPaths.includes(path) && !UNDOCUMENTED_PATHS.has(path),
    );
    console.info(
      `Contract paths in /openapi.json: ${implemented.length} of ${CONTRACT_PATHS.length - UNDOCUMENTED_PATHS.size}.` +
        (notImplemented.length > 0 ? ` Not implemented yet: ${notImplemented.join(", ")}` : ""),
    );

    expect(implemented.filter((path) => !pageText.includes(path))).toEqual([]);
  });
});
