// The HTML of the "Preview on map" webview: one iframe on the live map that `fused-ls serve`
// serves (the URL the server's `fused.preview` returns, through `asExternalUri`). A strict
// Content-Security-Policy: no script at all, a nonce'd style, frames from that one origin only.
// Pure, unit-tested (test/previewHtml.test.ts).

export function previewHtml(mapUrl: string, nonce: string, title: string, note?: string): string {
  const origin = new URL(mapUrl).origin;
  const csp = [
    "default-src 'none'",
    `frame-src ${origin}`,
    `style-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
  html, body { margin: 0; padding: 0; height: 100%; overflow: hidden; }
  body { display: flex; flex-direction: column; }
  iframe { border: 0; width: 100%; flex: 1; display: block; }
  .note { font: 12px sans-serif; padding: 4px 8px; color: var(--vscode-foreground); background: var(--vscode-editorWidget-background); }
</style>
</head>
<body>
${note ? `<div class="note" id="fused-note">${escapeHtml(note)}</div>\n` : ""}<iframe id="fused-map" src="${escapeAttr(mapUrl)}" title="${escapeAttr(title)}"></iframe>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, "&quot;");
}
