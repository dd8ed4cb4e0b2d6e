-- (1) Diagnostics with FUSEDnnn codes on the right lines, in a .py and in meta.json; (6) code
-- lenses after attach; inlay hints on; the `:Fused` command and its completion exist.
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))
T.main(function()
  local py, client = T.open(T.ws .. '/broken/Undefined_Name/Undefined_Name.py')
  T.seen.attached = client ~= nil
  T.seen.lsp_enabled = vim.lsp.is_enabled('fused_ls')
  T.seen.root = client and client.root_dir
  T.seen.offset_encoding = client and client.offset_encoding
  T.wait(10000, function()
    return #vim.diagnostic.get(py) >= 2
  end, 'diagnostics of Undefined_Name.py')
  T.seen.py = T.diagnostics(py)
  T.wait(10000, function()
    local lenses = vim.lsp.codelens.get(py)
    return #lenses > 0 and lenses[1].command ~= nil
  end, 'code lenses')
  T.seen.lenses = {}
  for _, l in ipairs(vim.lsp.codelens.get(py)) do
    table.insert(T.seen.lenses, { line = l.range.start.line + 1, title = l.command and l.command.title, command = l.command and l.command.command })
  end
  T.seen.inlay_hints_enabled = vim.lsp.inlay_hint.is_enabled({ bufnr = py })
  T.seen.fused_command = vim.fn.exists(':Fused') == 2
  T.seen.completion = vim.fn.getcompletion('Fused ', 'cmdline')
  T.seen.completion_tile = vim.fn.getcompletion('Fused tile ', 'cmdline')

  -- Inlay hints arrive (what an unannotated parameter really receives).
  local up = T.open(T.ws .. '/broken/Unannotated_Param/Unannotated_Param.py')
  T.wait(10000, function()
    return #vim.lsp.inlay_hint.get({ bufnr = up }) > 0
  end, 'inlay hints')
  T.seen.hints = {}
  for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = up })) do
    local label = h.inlay_hint.label
    if type(label) == 'table' then
      label = table.concat(vim.tbl_map(function(p)
        return p.value
      end, label))
    end
    table.insert(T.seen.hints, { line = h.inlay_hint.position.line + 1, label = label })
  end

  local meta = T.open(T.ws .. '/broken/Meta_Invalid_Json/meta.json')
  T.wait(10000, function()
    return #vim.diagnostic.get(meta) >= 1
  end, 'diagnostics of meta.json')
  T.seen.meta = T.diagnostics(meta)
  T.seen.meta_filetype = vim.bo[meta].filetype

  -- Two packages in one repository share one server, rooted at the repository.
  local repo = T.ws .. '/repo'
  vim.fn.mkdir(repo .. '/.git', 'p')
  vim.fn.system({ 'cp', '-r', T.ws .. '/run/Tile_Receivers', T.ws .. '/run/Failing_Udf', repo })
  local _, c1 = T.open(repo .. '/Tile_Receivers/Tile_Receivers.py')
  local _, c2 = T.open(repo .. '/Failing_Udf/Failing_Udf.py')
  T.seen.repo_same_client = c1 ~= nil and c2 ~= nil and c1.id == c2.id
  T.seen.repo_root = c1 and c1.root_dir
  -- A run (no `python` setting) uses the repository's .venv: a link to the SDK's interpreter.
  vim.fn.mkdir(repo .. '/.venv/bin', 'p')
  vim.uv.fs_symlink(assert(os.getenv('FUSED_NVIM_PYTHON')), repo .. '/.venv/bin/python')
  vim.cmd.edit(repo .. '/Tile_Receivers/Tile_Receivers.py')
  vim.cmd('Fused tile 13/2411/3079')
  T.wait(30000, function()
    local r = require('fused.results').last
    return r ~= nil and r.result.python ~= nil
  end, 'run in the repository')
  local last = require('fused.results').last
  T.seen.repo_run_python = last and last.result.python
  T.seen.repo_run_ok = last and last.result.ok

  -- A JSON file that is not meta.json gets no server.
  local other = T.ws .. '/other.json'
  vim.fn.writefile({ '{"a": 1}' }, other)
  vim.cmd.edit(other)
  vim.wait(500)
  T.seen.other_json_clients = #vim.lsp.get_clients({ bufnr = 0, name = 'fused_ls' })
end)
