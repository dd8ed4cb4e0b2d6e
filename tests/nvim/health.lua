-- (5) `:checkhealth fused`: all OK on a good setup; on a bad one (no fused-ls on PATH) it names
-- the missing binary and its install command, and opening a UDF says so in vim.notify.
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))
T.main(function()
  local py = os.getenv('FUSED_NVIM_PYTHON')
  if py and py ~= '' then
    require('fused').setup({ settings = { python = py } })
  end
  local file = T.ws .. '/run/Tile_Receivers/Tile_Receivers.py'
  local buf
  if os.getenv('FUSED_NVIM_NO_BINARY') then
    vim.cmd.edit(file)
    buf = vim.api.nvim_get_current_buf()
    vim.wait(300)
  else
    buf = T.open(file)
  end
  T.seen.attached = #vim.lsp.get_clients({ bufnr = buf, name = 'fused_ls' }) > 0
  vim.cmd('checkhealth fused')
  local hb = vim.api.nvim_get_current_buf()
  T.wait(30000, function()
    return table.concat(T.lines(hb), '\n'):find('Python for runs', 1, true) ~= nil
  end, 'checkhealth report')
  T.seen.report = T.lines(hb)

  -- The user's `cmd` wins over PATH: pointing at the binary makes the server start (through
  -- setup({ lsp = ... }) with the fallback start, the way of releases without vim.lsp.config).
  local bin = os.getenv('FUSED_NVIM_BIN')
  if os.getenv('FUSED_NVIM_NO_BINARY') and bin then
    if vim.g.fused_ls_fallback then
      require('fused').setup({ lsp = { cmd = { bin, 'server' } } })
    else
      vim.lsp.config('fused_ls', { cmd = { bin, 'server' } })
    end
    local _, client = T.open(T.ws .. '/run/Failing_Udf/Failing_Udf.py')
    T.seen.configured_cmd_attached = client ~= nil
  end
end)
