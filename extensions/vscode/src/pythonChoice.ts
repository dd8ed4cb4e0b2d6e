// Which interpreter the extension hands the server for runs: the `fused.python` setting, else the
// Python extension's selected interpreter (ms-python.python's public API,
// `environments.getActiveEnvironmentPath`/`resolveEnvironment`), else none, and the server's own
// discovery applies (a configuration file's `python`, a `.venv`/`venv` in or above the package,
// `python3`). Pure, unit-tested (test/pythonChoice.test.ts); src/extension.ts asks the API.

export type PythonChoice = { python?: string; source: "fused.python" | "Python extension" | "server discovery" };

/** `fromExtension` is asked only when the setting is empty (activating the Python extension costs
 * time); in an untrusted workspace it is not asked at all: its interpreter may be one inside the
 * workspace, and the server must not start what the workspace holds before it is trusted. */
export async function choosePython(
  setting: string | undefined,
  trusted: boolean,
  fromExtension: () => Promise<string | undefined>,
): Promise<PythonChoice> {
  if (setting && setting.trim()) return { python: setting, source: "fused.python" };
  if (trusted) {
    const p = await fromExtension().catch(() => undefined);
    if (p && p.trim()) return { python: p, source: "Python extension" };
  }
  return { source: "server discovery" };
}

/** The part of ms-python.python's exported API used here (npm `@vscode/python-extension` has the
 * full types; only these members are read, so the package is not a dependency). */
export type PythonApi = {
  environments?: {
    getActiveEnvironmentPath?(resource?: unknown): { id?: string; path?: string } | undefined;
    resolveEnvironment?(env: { id?: string; path?: string } | string): Promise<{ executable?: { uri?: { fsPath?: string } } } | undefined>;
    onDidChangeActiveEnvironmentPath?(listener: () => void): { dispose(): unknown };
  };
};

/** The executable of the active environment: the resolved one's path, else the path the API
 * gave (for a plain interpreter it is the executable itself). */
export async function activeInterpreter(api: PythonApi | undefined, resource?: unknown): Promise<string | undefined> {
  const env = api?.environments;
  const active = env?.getActiveEnvironmentPath?.(resource);
  if (!active) return undefined;
  const resolved = await env?.resolveEnvironment?.(active).catch(() => undefined);
  return resolved?.executable?.uri?.fsPath || active.path || undefined;
}
