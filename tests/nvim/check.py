"""Asserts on what the headless Neovim scripts saw (tests/nvim/*.lua write $OUT/<name>.json).

Usage: python3 check.py OUT_DIR WORKSPACE. Prints one line per check and exits 1 on any failure.
"""
import json
import os
import sys

out, ws = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, seen=None):
    print(("ok    " if cond else "FAIL  ") + name)
    if not cond:
        failures.append(name)
        if seen is not None:
            print("      saw: " + json.dumps(seen, ensure_ascii=False)[:2000])


def load(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        check(f"{name}: the script wrote its observations", False)
        return {}
    d = json.load(open(path))
    check(f"{name}: no Lua error", not d.get("error"), d.get("error"))
    check(f"{name}: no wait timed out", not d.get("timeouts"), d.get("timeouts"))
    return d


SDK_BOUNDS = "-74.0478515625, 40.713955826286046, -74.00390625, 40.74725696280421"

# (1) diagnostics, (6) lenses: with vim.lsp.enable, and again through the fallback start of
# Neovim < 0.11 forced on 0.11 (the plugin starts the server itself from lsp/fused_ls.lua).
def diagnostics_checks(name, p):
    d = load(name)
    check(p + "diagnostics: fused_ls attached with only the plugin and " + ("nothing else" if p else "vim.lsp.enable"), d.get("attached") is True, d.get("attached"))
    check(p + "diagnostics: outside a git repository the root is the package folder (meta.json)", str(d.get("root", "")).endswith("/broken/Undefined_Name"), d.get("root"))
    py = [(x["code"], x["lnum"], x["col"]) for x in d.get("py", [])]
    check(p + "diagnostics: Undefined_Name.py has FUSED012 at 9:11 and FUSED014 at 24:12",
          py == [("FUSED012", 9, 11), ("FUSED014", 24, 12)], py)
    meta = [(x["code"], x["lnum"]) for x in d.get("meta", [])]
    check(p + "diagnostics: meta.json (filetype json) has FUSED060 on line 29 or 30",
          d.get("meta_filetype") == "json" and len(meta) == 1 and meta[0][0] == "FUSED060" and meta[0][1] in (29, 30), meta)
    check(p + "two packages in one git repository share one server rooted at the repository",
          d.get("repo_same_client") is True and str(d.get("repo_root", "")).endswith("/ws/repo"), [d.get("repo_same_client"), d.get("repo_root")])
    check(p + "a run without a python setting uses the .venv at the repository's root",
          str(d.get("repo_run_python", "")).endswith("/ws/repo/.venv/bin/python") and d.get("repo_run_ok") is True,
          [d.get("repo_run_python"), d.get("repo_run_ok")])
    check(p + "diagnostics: no server for a JSON file that is not meta.json", d.get("other_json_clients") == 0, d.get("other_json_clients"))
    titles = sorted(x["title"] for x in d.get("lenses", []))
    check(p + "lenses: ▶ Run and ▶ Run tile after attach", titles == ["▶ Run", "▶ Run tile"], d.get("lenses"))
    hints = [(h["line"], h["label"].strip()) for h in d.get("hints", [])]
    check(p + "inlay hints on by default, and shown: `tile` on the receiver, `: str` on unannotated parameters",
          d.get("inlay_hints_enabled") is True and (6, "tile") in hints and (8, ": str") in hints, d.get("hints"))
    check(p + ":Fused exists and completes its subcommands",
          d.get("fused_command") is True and {"run", "tile", "rerun", "preview", "sync", "new", "pack", "info", "cancel"} <= set(d.get("completion", [])),
          d.get("completion"))
    check(p + "the server was started by " + ("the plugin (vim.lsp.enable not called)" if p else "vim.lsp.enable"),
          d.get("lsp_enabled") is (not p), d.get("lsp_enabled"))
    check(p + ":Fused tile completes a tile and bbox", (d.get("completion_tile") or [])[:2] == ["13/2411/3079", "bbox"], d.get("completion_tile"))


diagnostics_checks("diagnostics", "")
diagnostics_checks("diagnostics_fallback", "[fallback start] ")

# (2) code actions
d = load("actions")
check("quick fix: FUSED041 offered and applied", d.get("diag_code") == "FUSED041" and d.get("after") == '@fused.udf(cache_max_age="10m")',
      [d.get("action_titles"), d.get("before"), d.get("after")])
check("quick fix: the diagnostic goes away after the edit", d.get("diags_after_fix") == 0, d.get("diags_after_fix"))
check("fix-all on save: the file on disk is fixed",
      d.get("fixall_before") == '@fused.udf(instance_type="r5.large")' and d.get("fixall_disk") == '@fused.udf(engine="r5.large")',
      [d.get("fixall_before"), d.get("fixall_disk")])
check(":Fused sync edits meta.json's entrypoint in a buffer (unsaved)",
      d.get("sync_meta_has_udf_v2") is True and d.get("sync_meta_modified") is True, d)
check(":Fused new NAME --tile opens the Tile UDF and the server attaches",
      str(d.get("new_buffer", "")).endswith("/made/My_Tiles/My_Tiles.py") and d.get("new_has_bounds") and d.get("new_attached"), d)
check(":Fused pack writes NAME.zip in the current directory", d.get("zip") is True)

# (3) runs
d = load("run")
tile = d.get("tile", [])
check(":Fused tile 13/2411/3079: the result buffer has the SDK's bounds",
      len(tile) > 1 and tile[0].startswith("Tile_Receivers.py  tile 13/2411/3079  ok") and ("bounds  " + SDK_BOUNDS) in tile
      and "params  label=from-nvim" in tile and any('"label": "from-nvim"' in l for l in tile), tile)
check("the result split opens without taking the cursor", d.get("focus_kept") is True and d.get("result_window") is True)
check("the result split is reused (one extra window)", d.get("windows") == 2 and d.get("windows_after_second") == 2,
      [d.get("windows"), d.get("windows_after_second")])
table = d.get("table", [])
check("a GeoDataFrame: rows as an aligned table",
      "kind     n  v     flag   label" in table and "polygon  4  -1.5  false  p" in table
      and any("5 rows  EPSG:4326" in l for l in table), table)
raster = d.get("raster", [])
check("a raster: its size, bands, type and bounds; its repr printed as lines",
      ("raster  64x64, 4 band(s), uint8, range 0..255, bounds [" + SDK_BOUNDS + "]") in raster
      and any(l.startswith("array([[[ 30,  60, 220, 255],") for l in raster), raster)
check("lat lng z is sent as a tile run (tile 12/655/1583)", len(table) > 0 and "tile 12/655/1583" in table[0], table[:1])
failing = d.get("failing", [])
check(":Fused run how=raise seconds=2.5 passes both parameters",
      "params  how=raise seconds=2.5" in failing and "about to raise" in failing, failing)
check("a failing UDF: class, line and traceback in the result buffer",
      "error  ZeroDivisionError: division by zero" in failing and "line   14" in failing and "    ratio = 1 / 0" in failing
      and "about to raise" in failing, failing)
qf = d.get("qf", [])
check("a failing UDF: its line in the quickfix list",
      len(qf) == 1 and qf[0]["file"].endswith("/run/Failing_Udf/Failing_Udf.py") and qf[0]["lnum"] == 14 and "ZeroDivisionError" in qf[0]["text"]
      and d.get("qf_title") == "fused run", qf)
check(":Fused! run repeats the last run", "params  how=raise seconds=2.5" in d.get("rerun", []) and "error  ZeroDivisionError: division by zero" in d.get("rerun", []),
      d.get("rerun"))
check("the ▶ Run tile lens runs through the plugin", (d.get("lens_run") or [""])[0].startswith("Tile_Receivers.py  tile 13/2411/3079  ok"),
      d.get("lens_run"))
check("a successful run empties the plugin's quickfix list", d.get("qf_after_ok") == 0, d.get("qf_after_ok"))
info = d.get("info", [])
check(":Fused info names binary, server and interpreter",
      any(l.startswith("binary:") and l.endswith("/fused-ls") for l in info) and any(l.startswith("server:      fused-ls") for l in info)
      and any(l.startswith("interpreter: ") and "sdk-venv" in l for l in info), info)
check("result = { float = true }: a float, the cursor kept; `:Fused result` enters it",
      d.get("float_relative") == "editor" and d.get("float_focus_kept") is True and d.get("result_cmd_focuses") is True,
      [d.get("float_relative"), d.get("float_focus_kept"), d.get("result_cmd_focuses")])
check(":Fused tile from meta.json runs the package's UDF", (d.get("from_meta") or [""])[0].startswith("Tile_Receivers.py  tile 13/2411/3079  ok"),
      d.get("from_meta"))
cq = d.get("check_failed_qf", [])
check("a run stopped by check: its errors in the quickfix list",
      any("CheckFailed" in l for l in d.get("check_failed", [])) and len(cq) == 1 and cq[0]["file"].endswith("/broken/Bounds_Int/Bounds_Int.py")
      and cq[0]["lnum"] == 5 and cq[0]["col"] == 17 and cq[0]["text"].startswith("FUSED031"), [d.get("check_failed"), cq])
check(":Fused cancel stops a looping run (progress ended, Cancelled shown)",
      d.get("running_before_cancel") is True and d.get("running_after_cancel") is False and d.get("progress") == ["begin", "end"]
      and "error  Cancelled: the run was cancelled" in d.get("after_cancel", []) and (d.get("cancel_ms") or 1e9) < 5000,
      [d.get("progress"), d.get("after_cancel"), d.get("cancel_ms")])
check("the cancelled run's child process is gone", d.get("child_pid") and d.get("child_alive") is False, [d.get("child_pid"), d.get("child_alive")])

check("parameter completion: `:Fused run <Tab>` offers name= for each UDF parameter, from the server",
      d.get("complete_run") == ["how=", "seconds="] and d.get("complete_tile_run") == ["bounds=", "x=", "y=", "z=", "label="],
      [d.get("complete_run"), d.get("complete_tile_run")])
check("parameter completion: given names are not offered again; a prefix filters; nothing after `=`",
      d.get("complete_run_given") == ["seconds="] and d.get("complete_run_prefix") == ["seconds="] and d.get("complete_run_value") == [],
      [d.get("complete_run_given"), d.get("complete_run_prefix"), d.get("complete_run_value")])
check("parameter completion: `:Fused tile` leaves out the tile receiver (bounds), after the tile suggestions",
      d.get("complete_tile") == ["x=", "y=", "z=", "label="]
      and d.get("complete_tile_first") == ["13/2411/3079", "bbox", "x=", "y=", "z=", "label="],
      [d.get("complete_tile"), d.get("complete_tile_first")])
coercion = ["count", "ratio", "enabled", "ids", "options", "pair", "floats", "names", "stream", "token", "when", "at",
            "maybe", "either", "mode", "label"]
check("parameter completion: a signature over many lines, with brackets and strings in annotations",
      d.get("complete_coercion") == [n + "=" for n in coercion], d.get("complete_coercion"))
ctrlc = d.get("ctrlc_result", [])
check("<C-c> in the result buffer cancels the run in flight",
      d.get("ctrlc_in_result_buffer") is True and d.get("ctrlc_running_before") is True and d.get("ctrlc_running_after") is False
      and "error  Cancelled: the run was cancelled" in ctrlc, [d.get("ctrlc_in_result_buffer"), d.get("ctrlc_running_before"), ctrlc])
km = d.get("keymaps", {})
check("setup({ keymaps = ... }) maps each action buffer-locally, described",
      sorted(km) == ["cancel", "preview", "rerun", "run", "tile"] and all(v.get("buffer") == 1 and v.get("desc") == "Fused " + k for k, v in km.items()),
      km)
check("a keymap runs its action (run: the UDF's File run in the result buffer); buffers attached before setup() get them too",
      (d.get("keymap_run") or [""])[0].startswith("Coercion_Table.py  file  ok") and d.get("keymap_buffer") is True
      and d.get("keymap_on_earlier_buffer") is True, [d.get("keymap_run"), d.get("keymap_on_earlier_buffer")])

# (4) preview
d = load("preview")
url = d.get("opened") or ""
check(":Fused preview hands a loopback URL to vim.ui.open", url.startswith("http://127.0.0.1:") and url.endswith("/Points_Tile/"), url)
check(":Fused preview prints the URL", any(url and url in n["msg"] for n in d.get("notifications", [])), d.get("notifications"))
check("the URL serves the UDF's page", d.get("page_status") == 200 and d.get("page_is_html") is True and d.get("page_names_udf") is True,
      [d.get("page_status"), d.get("page_head")])
check("the service lists the UDF (udfs) and refuses a request without the token",
      d.get("udfs_status") == 200 and d.get("udfs_has_points") is True and d.get("no_token_status") == 404,
      [d.get("udfs_status"), d.get("no_token_status")])

notes = d.get("second_notes", [])
check("a second :Fused preview reuses the service; without a browser it warns and the URL stays printed",
      d.get("second") == url and any(url in n["msg"] for n in notes) and any(n["level"] == 3 and "could not open a browser" in n["msg"] for n in notes),
      [d.get("second"), notes])

# (5) checkhealth
d = load("health")
rep = "\n".join(d.get("report", []))
check(":checkhealth fused is all OK on a good setup",
      "ERROR" not in rep and "WARNING" not in rep and "OK Neovim 0.11" in rep and "fused-ls 0.1" in rep
      and all(f"OK {m} " in rep for m in ("geopandas", "shapely", "mercantile", "fused")) and "server running" in rep, d.get("report"))
d = load("health_bad")
rep = "\n".join(d.get("report", []))
check(":checkhealth fused without the binary: an ERROR naming it and the install command",
      "ERROR `fused-ls` not found on PATH" in rep and "pip install fused-ls" in rep and "cargo install --locked --path server/crates/fused_ls" in rep,
      d.get("report"))
check("opening a UDF without the binary: vim.notify says so (ERROR) with the install command",
      any(n["level"] == 4 and "not executable" in n["msg"] and "pip install fused-ls" in n["msg"] for n in d.get("notifications", [])),
      d.get("notifications"))

check("vim.lsp.config('fused_ls', {cmd = {...}}) starts the server from a binary off PATH", d.get("configured_cmd_attached") is True)

# The nvim-lint recipe (README), through a re-implementation of nvim-lint's for_sarif.
d = load("sarif")
diags = [(x["lnum"], x["col"], x["end_col"], x["code"], x["severity"], x["source"]) for x in d.get("diagnostics", [])]
check("nvim-lint recipe: fused-ls check --format sarif <file> from another directory, exit 1 on errors",
      d.get("recipe_found") is True and d.get("cmd", [])[:4] == ["fused-ls", "check", "--format", "sarif"]
      and str(d.get("cmd", [""])[-1]).endswith("/broken/Undefined_Name/Undefined_Name.py") and d.get("exit") == 1
      and d.get("ignore_exitcode") is True and d.get("stdin") is False, [d.get("cmd"), d.get("exit")])
check("nvim-lint recipe: FUSED012 (error) at 9:11-24 and FUSED014 (warning) at 24:12-15, source fused-ls",
      diags == [(8, 10, 23, "FUSED012", 1, "fused-ls"), (23, 11, 14, "FUSED014", 2, "fused-ls")], d.get("diagnostics"))
msgs = [x["message"] for x in d.get("diagnostics", [])]
check("nvim-lint recipe: each diagnostic keeps its own message",
      len(msgs) == 2 and msgs[0].startswith("`load_buildings` is not defined") and msgs[1].startswith("`json` is not defined"), msgs)
plain = [x["message"] for x in d.get("plain", [])]
check("(why the wrapper) the plain for_sarif() would show the rules' descriptions instead",
      len(plain) == 2 and not plain[0].startswith("`load_buildings`"), plain)
check("nvim-lint recipe: python buffers, linted on write", d.get("linters_by_ft") == {"python": ["fused_ls"]} and d.get("tried_on_write") == 1,
      [d.get("linters_by_ft"), d.get("tried_on_write")])

# The fallback start's :checkhealth (forced on 0.11): nothing missing, the start named.
d = load("health_fallback")
rep = "\n".join(d.get("report", []))
check("[fallback start] :checkhealth fused: all OK, says the plugin starts the server (vim.lsp.start)",
      "ERROR" not in rep and "WARNING" not in rep and "OK Neovim 0.11" in rep
      and "the plugin starts the server itself on FileType python/json (vim.lsp.start" in rep and "server running" in rep,
      d.get("report"))

d = load("health_bad_fallback")
rep = "\n".join(d.get("report", []))
check("[fallback start] without the binary: checkhealth's ERROR and vim.notify name the install command and setup({ lsp = ... })",
      "ERROR `fused-ls` not found on PATH" in rep and "pip install fused-ls" in rep and "setup({ lsp = { cmd" in rep
      and any(n["level"] == 4 and "not executable" in n["msg"] and "setup({ lsp = { cmd" in n["msg"] for n in d.get("notifications", [])),
      [d.get("report"), d.get("notifications")])
check("[fallback start] require('fused').setup({ lsp = { cmd = {...} } }) starts the server from a binary off PATH",
      d.get("configured_cmd_attached") is True)

# The floor: Debian's Neovim 0.7.2.
if os.environ.get("FUSED_NVIM_FLOOR", "1") == "0":
    print("SKIP  Neovim 0.7.2 floor (FUSED_NVIM_FLOOR=0)")
else:
    d = load("floor")
    check("[0.7.2] the real Neovim 0.7.2 ran, without vim.lsp.start", d.get("version") == "0.7.2" and d.get("has_lsp_start") is False,
          [d.get("version"), d.get("has_lsp_start")])
    py = [(x["code"], x["lnum"], x["col"]) for x in d.get("py", [])]
    check("[0.7.2] the plugin alone starts the server: Undefined_Name.py has FUSED012 at 9:11 and FUSED014 at 24:12",
          d.get("attached") is True and py == [("FUSED012", 9, 11), ("FUSED014", 24, 12)], py)
    meta = [(x["code"], x["lnum"]) for x in d.get("meta", [])]
    check("[0.7.2] meta.json (filetype json) has FUSED060 on line 29 or 30",
          d.get("meta_filetype") == "json" and len(meta) == 1 and meta[0][0] == "FUSED060" and meta[0][1] in (29, 30), meta)
    check("[0.7.2] the root is the package folder; one client per root, reused",
          str(d.get("root", "")).endswith("/broken/Undefined_Name") and d.get("two_roots_two_clients") is True
          and d.get("same_root_same_client") is True and d.get("clients") == 2,
          [d.get("root"), d.get("two_roots_two_clients"), d.get("same_root_same_client"), d.get("clients")])
    check("[0.7.2] through Neovim's own client: hover on a parameter, the FUSED012 code action, lenses refreshed on attach",
          str(d.get("hover", "")).startswith("**min_height**") and d.get("action_titles") == ["Ignore FUSED012 on this line with `# noqa`"]
          and sorted(d.get("lenses") or []) == ["▶ Run", "▶ Run tile"], [d.get("hover"), d.get("action_titles"), d.get("lenses")])
    rep = "\n".join(d.get("report", []))
    check("[0.7.2] :checkhealth fused names what 0.7 lacks and how the server starts",
          "WARNING: Neovim 0.7.2" in rep and "missing before 0.11: `:Fused`" in rep and "missing before 0.10: inlay hints" in rep
          and "(vim.lsp.start_client, the config of lsp/fused_ls.lua)" in rep and "OK: server running" in rep, d.get("report"))
    check("[0.7.2] :Fused says it needs 0.11",
          any(n["level"] == 3 and "needs Neovim 0.11+" in n["msg"] for n in d.get("notifications", [])), d.get("notifications"))

print(f"nvim: {len(failures)} failed" if failures else "nvim: all checks passed")
sys.exit(1 if failures else 0)
