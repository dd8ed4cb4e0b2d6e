-- The nvim-lint recipe of extensions/nvim/README.md, run as written (its Lua block is read from
-- the README), on real `fused-ls check --format sarif` output, as nvim-lint runs a linter: the
-- command, its args and the buffer's file name (append_fname), in Neovim's current directory,
-- stdout to `parser(output, bufnr, cwd)`.
--
-- nvim-lint itself is on no package registry these tests install from, so `require('lint')` and
-- `require('lint.parser')` are stood in for. `for_sarif` below is our own minimal re-implementation
-- of exactly what nvim-lint's `for_sarif` (mfussenegger/nvim-lint, lua/lint/parser.lua, the
-- version with `lint.SarifOptions`, `get_rule`/`get_code`/`get_message`; read through a code
-- index, commit not recorded) reads from a SARIF log and how it maps it:
--   runs[].tool.driver.{name, rules}; results[].{kind (default "fail", others dropped), level,
--   ruleIndex | rule.index (a 0-based index into rules), ruleId, message.text, locations[]};
--   the rule's id wins over ruleId and its shortDescription.text over message.text; a missing
--   level takes rule.defaultConfiguration.level; severities error/warning/note → ERROR/WARN/INFO
--   (others dropped); physicalLocation.artifactLocation.uri → a buffer (`file://` URIs through
--   vim.uri_to_bufnr, other paths made absolute from the current directory), only the linted
--   buffer kept; region.startLine - 1, endLine - 1, startColumn - 1 (else 0), endColumn - 2
--   (else end of line), skeleton fields (severity ERROR) under the rest.
-- An older version (results[].ruleId → rule; message.text; vim.uri_to_bufnr(uri) on every uri,
-- which raises on a plain path) is why the recipe hands it `file://` URIs.
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))

local function for_sarif(skeleton)
  skeleton = skeleton or {}
  skeleton.severity = skeleton.severity or vim.diagnostic.severity.ERROR
  local severities = {
    error = vim.diagnostic.severity.ERROR,
    warning = vim.diagnostic.severity.WARN,
    note = vim.diagnostic.severity.INFO,
  }
  local function to_bufnr(uri)
    if uri:find('^file://') then
      return vim.uri_to_bufnr(uri)
    end
    return vim.uri_to_bufnr(vim.uri_from_fname(vim.fs.abspath(uri)))
  end
  return function(output, bufnr)
    local out = {}
    for _, run in ipairs(vim.json.decode(output).runs or {}) do
      local driver = run.tool.driver
      local rules = driver.rules or {}
      for _, result in ipairs(run.results or {}) do
        local index = type(result.ruleIndex) == 'number' and result.ruleIndex
          or (result.rule and type(result.rule.index) == 'number' and result.rule.index)
        local rule = index and rules[index + 1] or nil
        local severity
        if (result.kind or 'fail') == 'fail' then
          if result.level == nil and rule.defaultConfiguration and rule.defaultConfiguration.level then
            severity = severities[rule.defaultConfiguration.level]
          else
            severity = severities[result.level]
          end
        end
        local message = (rule and rule.shortDescription and type(rule.shortDescription.text) == 'string')
            and rule.shortDescription.text
          or result.message.text
        local code = (rule and type(rule.id) == 'string') and rule.id or result.ruleId
        if severity then
          for _, loc in ipairs(result.locations) do
            local ok, file_bufnr = pcall(to_bufnr, loc.physicalLocation.artifactLocation.uri)
            if not ok then
              file_bufnr = bufnr
            end
            if file_bufnr == bufnr then
              local region = loc.physicalLocation.region
              table.insert(
                out,
                vim.tbl_extend('keep', {
                  bufnr = file_bufnr,
                  lnum = region.startLine - 1,
                  end_lnum = region.endLine and region.endLine - 1,
                  col = region.startColumn and region.startColumn - 1 or 0,
                  end_col = region.endColumn and region.endColumn - 2 or 999999,
                  severity = severity,
                  message = message,
                  source = driver.name,
                  code = code,
                }, skeleton)
              )
            end
          end
        end
      end
    end
    return out
  end
end

local function summary(diags)
  local out = {}
  for _, d in ipairs(diags) do
    out[#out + 1] = { lnum = d.lnum, col = d.col, end_col = d.end_col, code = d.code, severity = d.severity, message = d.message, source = d.source }
  end
  table.sort(out, function(a, b)
    return a.lnum < b.lnum
  end)
  return out
end

T.main(function()
  -- The stand-ins: what the recipe touches of nvim-lint.
  local lint = { linters = {}, linters_by_ft = {}, tried = 0 }
  function lint.try_lint()
    lint.tried = lint.tried + 1
  end
  package.loaded['lint'] = lint
  package.loaded['lint.parser'] = { for_sarif = for_sarif }

  -- The recipe, as the README writes it.
  local readme = table.concat(vim.fn.readfile(assert(os.getenv('FUSED_NVIM_PLUGIN')) .. '/README.md'), '\n')
  local section = readme:match('\n## Lint on save without LSP: nvim%-lint\n(.-)\n## ')
  local recipe = section and section:match('```lua\n(.-)```')
  T.seen.recipe_found = recipe ~= nil
  assert(recipe, 'no Lua block in the README section "Lint on save without LSP: nvim-lint"')
  assert(loadstring(recipe, 'README recipe'))()

  local linter = lint.linters.fused_ls
  T.seen.linters_by_ft = lint.linters_by_ft

  -- Run it as nvim-lint does, from a directory other than the package's.
  vim.cmd.cd(T.ws)
  vim.cmd.edit(T.ws .. '/broken/Undefined_Name/Undefined_Name.py')
  local buf = vim.api.nvim_get_current_buf()
  local cmd = { linter.cmd }
  vim.list_extend(cmd, linter.args)
  if linter.append_fname then
    table.insert(cmd, vim.api.nvim_buf_get_name(buf))
  end
  T.seen.cmd = cmd
  local run = vim.system(cmd, { cwd = vim.fn.getcwd(), text = true }):wait(30000)
  T.seen.exit = run.code
  T.seen.stdin = linter.stdin
  T.seen.ignore_exitcode = linter.ignore_exitcode
  T.seen.diagnostics = summary(linter.parser(run.stdout, buf, vim.fn.getcwd()))
  -- What the plain parser would show: the rules' one-line descriptions, not the findings.
  T.seen.plain = summary(for_sarif()(run.stdout, buf))

  -- The autocommand of the recipe: a write lints.
  vim.cmd('silent write')
  T.seen.tried_on_write = lint.tried
end)
