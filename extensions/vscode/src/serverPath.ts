// Which fused-ls binary the extension starts: the `fused.path` setting, else the binary bundled in
// the .vsix for this platform, else `fused-ls` on PATH. Pure apart from the file-system probes it
// is given, so the order and the error text are unit-tested (test/serverPath.test.ts).

export type Probe = {
  /** An executable regular file at this path? */
  isExecutable(path: string): boolean;
  /** The PATH entries, in order. */
  pathEntries: string[];
};

export type Resolved =
  | { ok: true; path: string; source: "setting" | "bundled" | "PATH" }
  | { ok: false; message: string };

export const EXE = process.platform === "win32" ? "fused-ls.exe" : "fused-ls";

export function resolveServerPath(setting: string, bundledPath: string, probe: Probe): Resolved {
  const configured = setting.trim();
  if (configured !== "") {
    if (probe.isExecutable(configured)) return { ok: true, path: configured, source: "setting" };
    // A setting that names nothing is an error, not a reason to fall back silently: the user
    // asked for that binary.
    return {
      ok: false,
      message: `fused.path is set to "${configured}", which is not an executable file. Fix the setting or clear it to use the bundled binary.`,
    };
  }
  if (probe.isExecutable(bundledPath)) return { ok: true, path: bundledPath, source: "bundled" };
  for (const dir of probe.pathEntries) {
    if (dir === "") continue;
    const candidate = dir.replace(/\/+$/, "") + "/" + EXE;
    if (probe.isExecutable(candidate)) return { ok: true, path: candidate, source: "PATH" };
  }
  return {
    ok: false,
    message:
      "fused-ls was not found: this extension has no bundled binary for this platform and `fused-ls` is not on PATH. " +
      "Install it (`pip install fused-ls`, or `cargo install --locked --path server/crates/fused_ls` from a checkout) " +
      "or set `fused.path` to the binary.",
  };
}
