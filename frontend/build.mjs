// Bundles src/main.ts and everything it imports (d3 included) into the one ES module
// TensorBoard loads in the plugin's iframe: tensorboard_deepviz/static/index.js.
// The iframe's CSP allows same-origin scripts only, so nothing may be fetched from a CDN.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, "..", "tensorboard_deepviz", "static", "index.js");
const watch = process.argv.includes("--dev");

await build({
  entryPoints: [resolve(here, "src", "main.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "eof",
  banner: { js: "// tensorboard-deepviz dashboard, built from frontend/ by `make frontend`; do not edit." },
  logLevel: "info",
});
