// The map panel's HTML (src/previewHtml.ts): a strict CSP and nothing injectable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { previewHtml } from "../src/previewHtml.ts";

test("the CSP allows frames from the map's origin only, no script, a nonce'd style", () => {
  const html = previewHtml("http://127.0.0.1:4567/tok/Pkg/", "N0NCE", "Map: Pkg");
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
  assert.equal(csp, "default-src 'none'; frame-src http://127.0.0.1:4567; style-src 'nonce-N0NCE'");
  assert.match(html, /<iframe id="fused-map" src="http:\/\/127\.0\.0\.1:4567\/tok\/Pkg\/"/);
  assert.match(html, /<style nonce="N0NCE">/);
  assert.doesNotMatch(html, /<script/);
});

test("title and note are escaped", () => {
  const html = previewHtml("http://127.0.0.1:1/t/x/", "n", `Map: <b>"x"</b>`, "<img src=x>");
  assert.doesNotMatch(html, /<b>|<img/);
  assert.match(html, /&lt;img src=x&gt;/);
});
