import { createApp } from "./app";
import type { Bindings } from "./config";

export type { AppType } from "./app";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Bindings>;
