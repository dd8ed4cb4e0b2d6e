-- (2) A quick fix applied changes the buffer; fix-all on save; `:Fused sync` edits meta.json
-- through the server's WorkspaceEdit; `:Fused new` and `:Fused pack` through the CLI.
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))
T.main(function()
  require('fused').setup({ fix_on_save = true })

  -- The quick fix of FUSED041, as `vim.lsp.buf.code_action()` would apply it.
  local buf, client = T.open(T.ws .. '/broken/Bad_Cache_Max_Age/Bad_Cache_Max_Age.py')
  T.wait(10000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 'FUSED041')
  local diag = vim.diagnostic.get(buf)[1]
  T.seen.diag_code = diag and diag.code
  T.seen.before = T.lines(buf)[4]
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = {
      start = { line = diag.lnum, character = diag.col },
      ['end'] = { line = diag.end_lnum, character = diag.end_col },
    },
    context = { diagnostics = { diag.user_data and diag.user_data.lsp or {} }, only = { 'quickfix' } },
  }
  local reply = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, 5000)
  local actions = reply and reply[client.id] and reply[client.id].result or {}
  T.seen.action_titles = vim.tbl_map(function(a)
    return a.title
  end, actions)
  for _, a in ipairs(actions) do
    if a.edit and not a.title:find('noqa') then
      vim.lsp.util.apply_workspace_edit(a.edit, client.offset_encoding)
      break
    end
  end
  T.seen.after = T.lines(buf)[4]
  T.wait(5000, function()
    return #vim.diagnostic.get(buf) == 0
  end, 'diagnostic cleared after the fix')
  T.seen.diags_after_fix = #vim.diagnostic.get(buf)

  -- Fix-all on save (`fix_on_save = true`): the file on disk is fixed.
  local it = T.open(T.ws .. '/broken/Instance_Type/Instance_Type.py')
  T.wait(10000, function()
    return #vim.diagnostic.get(it) > 0
  end, 'Instance_Type diagnostic')
  T.seen.fixall_before = T.lines(it)[4]
  vim.cmd('write')
  T.seen.fixall_disk = vim.fn.readfile(vim.api.nvim_buf_get_name(it))[4]

  -- `:Fused sync` from the .py: meta.json's entrypoint follows the renamed UDF (edited in a
  -- buffer, unsaved, as the server's WorkspaceEdit says).
  T.open(T.ws .. '/broken/Entrypoint_Renamed/Entrypoint_Renamed.py')
  vim.cmd('Fused sync')
  local meta = vim.fn.bufnr(T.ws .. '/broken/Entrypoint_Renamed/meta.json')
  T.seen.sync_meta_loaded = meta ~= -1
  if meta ~= -1 then
    T.seen.sync_meta_has_udf_v2 = table.concat(T.lines(meta), '\n'):find('"entrypoint":"udf_v2"', 1, true) ~= nil
    T.seen.sync_meta_modified = vim.bo[meta].modified
  end

  -- `:Fused new` in the current directory opens the new UDF (and the server attaches);
  -- `:Fused pack` zips it there.
  local dir = T.ws .. '/made'
  vim.fn.mkdir(dir, 'p')
  vim.cmd.cd(dir)
  vim.cmd('Fused new My_Tiles --tile')
  T.wait(10000, function()
    return vim.api.nvim_buf_get_name(0):find('My_Tiles/My_Tiles.py', 1, true) ~= nil
  end, ':Fused new opens the file')
  T.seen.new_buffer = vim.api.nvim_buf_get_name(0)
  T.seen.new_has_bounds = table.concat(T.lines(0), '\n'):find('fused.types.Bounds', 1, true) ~= nil
  T.wait(10000, function()
    return #vim.lsp.get_clients({ bufnr = 0, name = 'fused_ls' }) > 0
  end, 'attach to the new UDF')
  T.seen.new_attached = #vim.lsp.get_clients({ bufnr = 0, name = 'fused_ls' }) > 0
  vim.cmd('Fused pack')
  T.wait(10000, function()
    return vim.fn.filereadable(dir .. '/My_Tiles.zip') == 1
  end, ':Fused pack writes the zip')
  T.seen.zip = vim.fn.filereadable(dir .. '/My_Tiles.zip') == 1
end)
