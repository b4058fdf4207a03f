declare namespace Cloudflare {
  interface Env {
    NEON_FETCH_ENDPOINT: string;
    NEON_ADMIN_ORIGIN: string;
    TEMPLATE_DATABASE: string;
    DATABASE_BACKEND: "pglite" | "postgres";
    DATABASE_URL: string;
  }
}
