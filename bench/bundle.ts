// Worker bundle size as `wrangler deploy --dry-run` builds it, which dependencies make it up (from
// esbuild's metafile), and what the named alternatives would weigh, bundled alone with esbuild.
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { BIN, childEnv, PROJECT_ROOT } from "./lib/stack";

const run = promisify(execFile);

export interface WranglerBundle {
  /** The upload size that wrangler reports, in KiB. */
  uploadKiB: number;
  gzipKiB: number;
  /**
   * Minimum processor time, over fresh Node processes (the same V8 engine as workerd), to compile
   * the bundle and run its top level: the part of a cold start that the bundle decides. It is the
   * minimum of several samples of processor time, not wall time, so other load blurs it less.
   * Undefined when the bundle does not load outside workerd.
   */
  startupMs?: number;
}

export interface DependencyShare {
  name: string;
  /** Bytes of this package in the deployed output, before compression. */
  bytes: number;
}

export interface BundleAlternative {
  group: string;
  name: string;
  minifiedKiB: number;
  gzipKiB: number;
  /** Measured for whole-service variants only; see `WranglerBundle.startupMs`. */
  startupMs?: number;
  note?: string;
}

export interface BundleReport {
  /** As wrangler.toml builds it for the production environment (minified). */
  deployed: WranglerBundle;
  unminified: WranglerBundle;
  dependencies: DependencyShare[];
  /** Bytes of zod's translated error messages, which the `z` namespace import keeps. */
  zodLocalesBytes: number;
  alternatives: BundleAlternative[];
  peer?: { deployed: WranglerBundle; unminified: WranglerBundle };
}

/** Run `wrangler deploy --dry-run` in `directory` and read the sizes it prints. */
async function wranglerDryRun(
  directory: string,
  outdir: string,
  extraArgs: string[] = [],
): Promise<WranglerBundle & { stdout: string }> {
  const wrangler = join(BIN, "wrangler");
  const { stdout } = await run(wrangler, ["deploy", "--dry-run", "--outdir", outdir, ...extraArgs], {
    cwd: directory,
    env: childEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(`wrangler printed no upload size:\n${stdout}`);
  }
  return {
    uploadKiB: Number(match[1]),
    gzipKiB: Number(match[2]),
    startupMs: await measureStartup(join(outdir, "index.js")),
    stdout,
  };
}

const STARTUP_SAMPLES = 15;

/** Compile-and-evaluate processor time of a bundle in fresh Node processes; see `startupMs`. */
async function measureStartup(bundlePath: string): Promise<number | undefined> {
  // The .mjs name makes Node load it as a module without first parsing it to guess the format.
  const modulePath = `${bundlePath.replace(/\.js$/, "")}.startup.mjs`;
  copyFileSync(bundlePath, modulePath);
  const script =
    "const before = process.cpuUsage(); await import(process.argv[1]); const used = process.cpuUsage(before); console.log((used.user + used.system) / 1000);";
  const samples: number[] = [];
  try {
    for (let sample = 0; sample < STARTUP_SAMPLES; sample += 1) {
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, modulePath]);
      samples.push(Number(stdout.trim()));
    }
  } catch {
    // A bundle that imports cloudflare:* modules loads only in workerd.
    return undefined;
  }
  // The fastest sample is the one least disturbed by other work on the machine.
  return Math.min(...samples);
}

function packageOf(inputPath: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inputPath);
  if (match?.[1] !== undefined) return match[1];
  return inputPath.startsWith("src/") ? "(application code)" : inputPath;
}

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
}

function dependencySharesFrom(metafile: Metafile): { shares: DependencyShare[]; zodLocalesBytes: number } {
  const bytesByPackage = new Map<string, number>();
  let zodLocalesBytes = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = packageOf(path);
      bytesByPackage.set(name, (bytesByPackage.get(name) ?? 0) + input.bytesInOutput);
      if (path.includes("node_modules/zod/v4/locales/")) zodLocalesBytes += input.bytesInOutput;
    }
  }
  const shares = [...bytesByPackage.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((left, right) => right.bytes - left.bytes);
  return { shares, zodLocalesBytes };
}

// Replaces the module behind `z.locales` (zod's error messages in about 60 languages) with an empty one.
// The `z` namespace that @hono/zod-openapi imports and extends keeps every export alive, so the
// bundle carries them although the service never switches language.
const stubZodLocales: Plugin = {
  name: "stub-zod-locales",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("node_modules/zod/v4/") ? { path: "zod-locales-stub", namespace: "stub" } : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

/** Bundle one entry the way wrangler resolves Worker code, minified, and measure it. */
async function bundleEntry(
  contents: string,
  options: { stubZodLocales?: boolean; startupIn?: string } = {},
): Promise<{ minifiedKiB: number; gzipKiB: number; startupMs?: number }> {
  const result = await build({
    stdin: { contents, resolveDir: PROJECT_ROOT, loader: "ts", sourcefile: "entry.ts" },
    plugins: options.stubZodLocales ? [stubZodLocales] : [],
    external: ["cloudflare:*", "node:*"],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2022",
    minify: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  let startupMs: number | undefined;
  if (options.startupIn !== undefined) {
    const bundlePath = join(options.startupIn, `entry-${Date.now()}.js`);
    writeFileSync(bundlePath, code);
    startupMs = await measureStartup(bundlePath);
  }
  return { minifiedKiB: code.byteLength / 1024, gzipKiB: gzipSync(code).byteLength / 1024, startupMs };
}

// Representative request schemas, written once per zod flavour, so both bundles carry the same work.
const ZOD_SCHEMAS_CLASSIC = `
  export const signUp = z.strictObject({ email: z.string().trim().max(254).pipe(z.email()), password: z.string().min(1).max(1024), username: z.string().regex(/^[A-Za-z0-9_.-]{3,32}$/).optional() });
  export const verify = z.strictObject({ email: z.email(), code: z.string().regex(/^[0-9]{6}$/) });
  export const user = z.object({ id: z.uuid(), status: z.enum(["active", "suspended"]), created_at: z.string() });
  export const parse = (value: unknown) => signUp.safeParse(value);`;
const ZOD_SCHEMAS_MINI = `
  export const signUp = z.strictObject({ email: z.string().check(z.trim(), z.maxLength(254), z.email()), password: z.string().check(z.minLength(1), z.maxLength(1024)), username: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,32}$/))) });
  export const verify = z.strictObject({ email: z.email(), code: z.string().check(z.regex(/^[0-9]{6}$/)) });
  export const user = z.object({ id: z.uuid(), status: z.enum(["active", "suspended"]), created_at: z.string() });
  export const parse = (value: unknown) => signUp.safeParse(value);`;

const ALTERNATIVES: {
  group: string;
  name: string;
  entry: string;
  stubZodLocales?: boolean;
  startup?: boolean;
  note?: string;
}[] = [
  {
    group: "the service",
    name: "src/index.ts bundled alone with esbuild, minified",
    entry: `export { default } from "./src/index";`,
    startup: true,
  },
  {
    group: "the service",
    name: "the same, with zod's `locales` module replaced by an empty one",
    entry: `export { default } from "./src/index";`,
    stubZodLocales: true,
    startup: true,
    note: "loads, but no test runs this build",
  },
  {
    group: "zod",
    name: 'zod classic, `import { z } from "zod"` (as the product imports it through @hono/zod-openapi)',
    entry: `import { z } from "zod"; ${ZOD_SCHEMAS_CLASSIC}`,
  },
  {
    group: "zod",
    name: 'zod classic, `import * as z from "zod"`',
    entry: `import * as z from "zod"; ${ZOD_SCHEMAS_CLASSIC}`,
  },
  {
    group: "zod",
    name: "zod/mini",
    entry: `import * as z from "zod/mini"; ${ZOD_SCHEMAS_MINI}`,
    note: "@hono/zod-openapi needs classic zod schemas",
  },
  {
    group: "@hono/zod-openapi",
    name: "OpenAPIHono with one route and its document",
    entry: `import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
      const app = new OpenAPIHono();
      app.openapi(createRoute({ method: "post", path: "/x", request: { body: { content: { "application/json": { schema: z.strictObject({ a: z.string() }) } } } }, responses: { 200: { description: "ok" } } }), (c) => c.json({}, 200));
      app.doc31("/openapi.json", { openapi: "3.1.0", info: { title: "x", version: "1" } });
      export default app;`,
  },
  {
    group: "@hono/zod-openapi",
    name: "plain Hono with one route",
    entry: `import { Hono } from "hono"; const app = new Hono(); app.post("/x", (c) => c.json({})); export default app;`,
  },
  {
    group: "Neon driver",
    name: "@neondatabase/serverless `neon` (HTTP queries only)",
    entry: `import { neon } from "@neondatabase/serverless"; export const sql = neon("postgres://u@h/db");`,
  },
  {
    group: "Neon driver",
    name: "drizzle-orm/neon-http with the driver",
    entry: `import { neon } from "@neondatabase/serverless"; import { drizzle } from "drizzle-orm/neon-http"; import { sql } from "drizzle-orm"; export const db = drizzle({ client: neon("postgres://u@h/db") }); export const q = () => db.execute(sql\`select 1\`);`,
  },
  {
    group: "JWT",
    name: "jose (sign, verify, JWK import)",
    entry: `import { SignJWT, jwtVerify, importJWK } from "jose"; export { SignJWT, jwtVerify, importJWK };`,
  },
  {
    group: "phone numbers",
    name: "libphonenumber-js/min and /mobile together (as the service imports them)",
    entry: `import { parsePhoneNumberFromString as parseMin } from "libphonenumber-js/min"; import { parsePhoneNumberFromString as parseMobile } from "libphonenumber-js/mobile"; export const parse = (value: string) => [parseMin(value, "IN")?.number, parseMobile(value, "IN")?.getType()];`,
  },
  ...(["min", "mobile", "max"] as const).map((metadata) => ({
    group: "phone numbers",
    name: `libphonenumber-js/${metadata}`,
    entry: `import { parsePhoneNumberFromString } from "libphonenumber-js/${metadata}"; export const parse = (value: string) => parsePhoneNumberFromString(value, "IN")?.number;`,
  })),
];

function sizesOf({ uploadKiB, gzipKiB, startupMs }: WranglerBundle): WranglerBundle {
  return { uploadKiB, gzipKiB, startupMs };
}

export async function measureBundle(options: { includePeer: boolean }): Promise<BundleReport> {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  try {
    const metafilePath = join(outdir, "deployed", "meta.json");
    const deployed = await wranglerDryRun(PROJECT_ROOT, join(outdir, "deployed"), [
      "--env",
      "production",
      "--metafile",
      metafilePath,
    ]);
    const unminified = await wranglerDryRun(PROJECT_ROOT, join(outdir, "unminified"), [
      "--env",
      "production",
      "--minify=false",
    ]);
    const { shares, zodLocalesBytes } = dependencySharesFrom(JSON.parse(readFileSync(metafilePath, "utf8")));

    const alternatives: BundleAlternative[] = [];
    for (const alternative of ALTERNATIVES) {
      try {
        const size = await bundleEntry(alternative.entry, {
          stubZodLocales: alternative.stubZodLocales,
          startupIn: alternative.startup ? outdir : undefined,
        });
        alternatives.push({ group: alternative.group, name: alternative.name, note: alternative.note, ...size });
      } catch (error) {
        const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
        alternatives.push({
          group: alternative.group,
          name: alternative.name,
          minifiedKiB: Number.NaN,
          gzipKiB: Number.NaN,
          note: `did not build: ${message}`,
        });
      }
    }

    let peer: BundleReport["peer"];
    if (options.includePeer) {
      const peerDir = join(PROJECT_ROOT, "bench/peer");
      peer = {
        deployed: await wranglerDryRun(peerDir, join(outdir, "peer-minified"), ["--minify"]),
        unminified: await wranglerDryRun(peerDir, join(outdir, "peer-unminified"), ["--minify=false"]),
      };
    }

    return {
      deployed: sizesOf(deployed),
      unminified: sizesOf(unminified),
      dependencies: shares,
      zodLocalesBytes,
      alternatives,
      peer: peer && { deployed: sizesOf(peer.deployed), unminified: sizesOf(peer.unminified) },
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
