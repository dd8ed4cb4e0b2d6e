// Bundles the map pages with esbuild (one file each, no CDN at run time): dist/map.js, the live
// map (`fused_serve` embeds it when it exists at build time), and dist/result.js, the static map
// of one run (no server, no fetch) that the VS Code result panel ships (a separate bundle so the
// live map's stays as it is; extensions/vscode/scripts/package.sh copies it). `web/build.sh`
// runs this.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
for (const [entry, out] of [
  ["src/main.js", "dist/map.js"],
  ["src/result.js", "dist/result.js"],
]) {
  await esbuild.build({
    entryPoints: [path.join(here, entry)],
    outfile: path.join(here, out),
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "linked",
    // node_modules live outside the work tree (~/.cache/fused-ls/web): see web/build.sh.
    nodePaths: process.env.FUSED_LS_WEB_NODE_MODULES ? [process.env.FUSED_LS_WEB_NODE_MODULES] : [],
    logLevel: "warning",
  });
  console.log("built", path.join(here, out));
}
