// Which `.py` of a package folder is the UDF, for commands started from the Explorer on the folder
// or its meta.json (Sync meta.json and Preview on Map act on the UDF's source). Pure (no vscode, no
// fs: the caller lists the folder), unit-tested (test/packageFiles.test.ts).

/**
 * The UDF's file among a package's `files` (names in the folder): meta.json's `source` (the file
 * the package's UDF step names, `job_config.steps[].udf.source`), else `<folder>.py` (what
 * `fused-ls new` and Workbench's export write), else the only `.py` that is not `utils.py`.
 */
export function packageUdfFile(metaText: string | undefined, folderName: string, files: string[]): string | undefined {
  const py = files.filter((f) => f.endsWith(".py"));
  const source = metaSource(metaText);
  if (source && py.includes(source)) return source;
  if (py.includes(`${folderName}.py`)) return `${folderName}.py`;
  const others = py.filter((f) => f !== "utils.py");
  return others.length === 1 ? others[0] : undefined;
}

function metaSource(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const meta = JSON.parse(text) as { job_config?: { steps?: { udf?: { source?: unknown } }[] } };
    for (const step of meta.job_config?.steps ?? []) {
      const s = step?.udf?.source;
      // A file name in the folder, never a path out of it.
      if (typeof s === "string" && /^[^\\/]+\.py$/.test(s)) return s;
    }
  } catch {
    // Not JSON (being edited): the file name rules below decide.
  }
  return undefined;
}

/**
 * The package's `fused:vizConfig` (`job_config.steps[].udf.metadata`, its first UDF step, as
 * `fused-ls serve` reads it): how Workbench, the live map and the result panel's map style its
 * layers. Undefined when meta.json has none, or is not JSON (being edited).
 */
export function packageVizConfig(metaText: string | undefined): object | undefined {
  if (!metaText) return undefined;
  try {
    const meta = JSON.parse(metaText) as { job_config?: { steps?: { udf?: { metadata?: Record<string, unknown> } }[] } };
    const step = (meta.job_config?.steps ?? []).find((s) => s?.udf && typeof s.udf === "object");
    const viz = step?.udf?.metadata?.["fused:vizConfig"];
    return viz && typeof viz === "object" && !Array.isArray(viz) ? (viz as object) : undefined;
  } catch {
    return undefined;
  }
}
