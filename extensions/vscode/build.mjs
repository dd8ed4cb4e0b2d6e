// Bundles the extension into dist/extension.js with esbuild (one CommonJS file: vscode-languageclient
// included, `vscode` provided by the editor), so the .vsix needs no node_modules.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
await esbuild.build({
  entryPoints: [path.join(here, "src/extension.ts")],
  outfile: path.join(here, "dist/extension.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: ["node18"],
  external: ["vscode"],
  minify: process.env.FUSED_EXT_MINIFY !== "0",
  sourcemap: false,
  legalComments: "linked",
  logLevel: "warning",
});
console.log("built", path.join(here, "dist/extension.js"));
