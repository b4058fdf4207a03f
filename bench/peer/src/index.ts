// The comparison peer: Better Auth with email and password and default settings, on the same
// runtime (workerd), driver (drizzle-orm/neon-http over @neondatabase/serverless) and local Neon
// endpoint as the product. `npm run bench` starts it with `wrangler dev`; nothing deploys it.
import { neon, neonConfig } from "@neondatabase/serverless";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { drizzle } from "drizzle-orm/neon-http";
import * as schema from "./schema";

interface PeerEnv {
  DATABASE_URL: string;
  NEON_FETCH_ENDPOINT: string;
  BETTER_AUTH_SECRET: string;
  BETTER_AUTH_URL: string;
}

function createAuth(env: PeerEnv) {
  neonConfig.fetchEndpoint = env.NEON_FETCH_ENDPOINT;
  const db = drizzle({ client: neon(env.DATABASE_URL), schema });
  return betterAuth({
    database: drizzleAdapter(db, { provider: "pg", schema }),
    emailAndPassword: { enabled: true },
    secret: env.BETTER_AUTH_SECRET,
    baseURL: env.BETTER_AUTH_URL,
  });
}

// One instance per isolate, as the product caches its parsed configuration per bindings object.
let auth: ReturnType<typeof createAuth> | undefined;

export default {
  async fetch(request: Request, env: PeerEnv): Promise<Response> {
    if (new URL(request.url).pathname === "/health") return Response.json({ status: "ok" });
    auth ??= createAuth(env);
    return auth.handler(request);
  },
};
