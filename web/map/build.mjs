// Bundles the map page into dist/map.js with esbuild (one file, no CDN at run time). The Rust
// side (`fused_serve`) embeds dist/map.js when it exists at build time; `web/build.sh` runs this.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
await esbuild.build({
  entryPoints: [path.join(here, "src/main.js")],
  outfile: path.join(here, "dist/map.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "linked",
  // node_modules live outside the work tree (~/.cache/fused-ls/web): see web/build.sh.
  nodePaths: process.env.FUSED_LS_WEB_NODE_MODULES ? [process.env.FUSED_LS_WEB_NODE_MODULES] : [],
  logLevel: "warning",
});
console.log("built", path.join(here, "dist/map.js"));

// The static map of one run (src/result.js: no server, no fetch), for the VS Code result panel;
// a separate bundle so the live map's stays as it is. extensions/vscode/scripts/package.sh ships it.
await esbuild.build({
  entryPoints: [path.join(here, "src/result.js")],
  outfile: path.join(here, "dist/result.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "linked",
  nodePaths: process.env.FUSED_LS_WEB_NODE_MODULES ? [process.env.FUSED_LS_WEB_NODE_MODULES] : [],
  logLevel: "warning",
});
console.log("built", path.join(here, "dist/result.js"));
