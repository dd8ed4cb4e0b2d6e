// A stand-in for ms-python.python's public API (the shape of npm `@vscode/python-extension`'s
// `PythonExtension.environments`), for tests/vscode: the selected interpreter is
// $FUSED_STUB_PYTHON (the extension host inherits code-server's environment).
const vscode = require("vscode");

exports.activate = function activate() {
  const changed = new vscode.EventEmitter();
  const python = process.env.FUSED_STUB_PYTHON || "";
  return {
    environments: {
      getActiveEnvironmentPath: () => ({ id: python, path: python }),
      resolveEnvironment: async (env) => {
        const p = typeof env === "string" ? env : env && env.path;
        return p ? { id: p, path: p, executable: { uri: vscode.Uri.file(p) } } : undefined;
      },
      onDidChangeActiveEnvironmentPath: changed.event,
    },
  };
};
exports.deactivate = function deactivate() {};
