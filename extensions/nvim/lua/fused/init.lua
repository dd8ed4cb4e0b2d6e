-- fused-ls for Neovim: optional setup, the binary check, what happens when the server attaches.
-- Nothing here is required: `vim.lsp.enable('fused_ls')` works without `setup()`.
local M = {}

local compat = require('fused.compat')

M.install_hint = 'pip install fused-ls  (or, from a fused-ls checkout: '
  .. 'cargo install --locked --path server/crates/fused_ls)'

---@class fused.Config
M.defaults = {
  -- Server settings (`select`, `ignore`, `python`, `runTimeout`, `configurationPreference`,
  -- `runMemoryMiB`), sent as initializationOptions and as the `fused` configuration section.
  settings = {},
  -- Lets the server pre-warm its worker with an interpreter found in the workspace (a `.venv`)
  -- before the first run. Only for workspaces you trust: off by default, as in the server.
  trusted_workspace = false,
  inlay_hints = true,
  codelens = true,
  -- Apply `source.fixAll.fused` before each save of a Python buffer.
  fix_on_save = false,
  result = {
    -- Where the result buffer opens: a split at the bottom ('botright') or at the right
    -- ('vertical botright'); false keeps it hidden (`:Fused result` shows it).
    split = 'botright',
    height = 15,
    -- A floating window (not entered) instead of a split.
    float = false,
  },
  -- Buffer-local keymaps set on attach, e.g. { run = '<leader>fr', tile = '<leader>ft',
  -- rerun = '<leader>fR', preview = '<leader>fp' }. None by default.
  keymaps = {},
  -- Fields over lsp/fused_ls.lua (cmd, root_markers, init_options, ...): on 0.11 passed to
  -- `vim.lsp.config('fused_ls', ...)` (which works as well), on older releases the only way.
  lsp = {},
}

M.config = vim.deepcopy(M.defaults)

--- Optional. Settings for the server and the plugin; may be called again to change them.
---@param opts? table
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local settings = vim.tbl_extend('force', {}, M.config.settings)
  local init = vim.tbl_extend('force', {}, settings, { trustedWorkspace = M.config.trusted_workspace })
  M.lsp_overrides = {
    init_options = init,
    settings = { fused = next(settings) and settings or vim.empty_dict() },
  }
  if compat.native then
    vim.lsp.config('fused_ls', M.lsp_overrides)
    if next(M.config.lsp) then
      vim.lsp.config('fused_ls', M.config.lsp)
    end
  end
  -- Running servers get the new settings at once, their buffers the keymaps.
  for _, client in ipairs(compat.get_clients('fused_ls')) do
    client.settings = { fused = settings }
    if not compat.full and client.config then
      client.config.settings = { fused = settings } -- what workspace/configuration reads before 0.11
    end
    compat.notify(client, 'workspace/didChangeConfiguration', { settings = { fused = settings } })
    if compat.full then
      for bufnr in pairs(client.attached_buffers or {}) do
        M.set_keymaps(bufnr)
      end
    end
  end
end

--- The server's effective config: `vim.lsp.config.fused_ls` on 0.11, else the fallback's merge
--- of lsp/fused_ls.lua with `setup()`.
---@return table
function M.lsp_config()
  if compat.native then
    return vim.lsp.config.fused_ls or {}
  end
  return require('fused.fallback').config()
end

--- The executable the server starts with: the configured `cmd[1]` (nil when `cmd` is a function).
---@return string|nil cmd, string|nil path
function M.binary()
  local ok, cfg = pcall(M.lsp_config)
  local cmd = ok and cfg and cfg.cmd or { 'fused-ls', 'server' }
  if type(cmd) ~= 'table' then
    return nil, nil
  end
  local path = vim.fn.exepath(cmd[1])
  return cmd[1], path ~= '' and path or nil
end

local warned = false
--- Neovim only logs "cannot start fused_ls ... not executable" to lsp.log: say it where it is seen.
---@param bufnr integer
function M.check_binary(bufnr)
  -- The fallback start always starts it; on 0.11 only once the user enabled it.
  local enabled = not compat.native
    or (vim.lsp.is_enabled and vim.lsp.is_enabled('fused_ls'))
    or (vim.lsp._enabled_configs or {})['fused_ls'] ~= nil
  if warned or not enabled then
    return
  end
  if vim.bo[bufnr].buftype ~= '' then
    return
  end
  if vim.bo[bufnr].filetype == 'json' and compat.basename(vim.api.nvim_buf_get_name(bufnr)) ~= 'meta.json' then
    return
  end
  local cmd, path = M.binary()
  if cmd and not path then
    warned = true
    -- Scheduled: after the file is shown (its "written" message would hide it), and outside the
    -- FileType autocommand (an error message there aborts the `:edit` of a script).
    vim.schedule_wrap(vim.notify)(
      ('fused-ls: `%s` is not executable (not on PATH?), so the language server cannot start.\n'
        .. 'Install it: %s\n'
        .. (compat.native and "or point to it: vim.lsp.config('fused_ls', { cmd = { '/path/to/fused-ls', 'server' } })"
          or "or point to it: require('fused').setup({ lsp = { cmd = { '/path/to/fused-ls', 'server' } } })")):format(
        cmd,
        M.install_hint
      ),
      vim.log.levels.ERROR
    )
  end
end

--- The fused_ls client of a buffer (or any running one when the buffer has none).
---@param bufnr? integer
---@return vim.lsp.Client|nil
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return compat.get_clients('fused_ls', bufnr)[1]
end

local function refresh_lenses(bufnr)
  if M.config.codelens and vim.api.nvim_buf_is_valid(bufnr) then
    if compat.has('0.10') then
      vim.lsp.codelens.refresh({ bufnr = bufnr })
    elseif bufnr == vim.api.nvim_get_current_buf() then
      vim.lsp.codelens.refresh() -- before 0.10 it refreshes the current buffer only
    end
  end
end

--- LspAttach for fused_ls: lenses, inlay hints, keymaps, fix-on-save.
---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  if M.config.inlay_hints and vim.lsp.inlay_hint and compat.supports(client, 'textDocument/inlayHint') then
    vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  end
  local group = vim.api.nvim_create_augroup('fused_buf_' .. bufnr, { clear = true })
  if compat.supports(client, 'textDocument/codeLens') then
    refresh_lenses(bufnr)
    vim.api.nvim_create_autocmd({ 'BufWritePost', 'InsertLeave', 'BufEnter' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        refresh_lenses(bufnr)
      end,
    })
  end
  if not compat.full then
    return -- fix-on-save and the keymaps act through `:Fused`'s code (0.11)
  end
  vim.api.nvim_create_autocmd('BufWritePre', {
    group = group,
    buffer = bufnr,
    callback = function()
      if M.config.fix_on_save and vim.bo[bufnr].filetype == 'python' then
        require('fused.commands').fix_all(bufnr)
      end
    end,
  })
  M.set_keymaps(bufnr)
end

--- The buffer-local keymaps of `config.keymaps` ({ action = lhs }).
function M.set_keymaps(bufnr)
  local commands = require('fused.commands')
  for action, lhs in pairs(M.config.keymaps or {}) do
    if lhs and commands.keymap_actions[action] then
      vim.keymap.set('n', lhs, commands.keymap_actions[action], { buffer = bufnr, desc = 'Fused ' .. action })
    end
  end
end

return M
