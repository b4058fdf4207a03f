// Copies the API reference's browser bundle into public/, the Worker's static assets, so /docs
// loads no script from a CDN. The copy is git-ignored and rebuilt before dev, test and deploy.
import { copyFileSync, mkdirSync } from "node:fs";

// The package's exports map hides its files, so the path is read from node_modules directly.
const STANDALONE_BUNDLE = "node_modules/@scalar/api-reference/dist/browser/standalone.js";

mkdirSync("public/docs", { recursive: true });
copyFileSync(STANDALONE_BUNDLE, "public/docs/scalar.js");
