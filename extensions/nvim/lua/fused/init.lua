-- fused-ls for Neovim: optional setup, the binary check, what happens when the server attaches.
-- Nothing here is required: `vim.lsp.enable('fused_ls')` works without `setup()`.
local M = {}

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
}

M.config = vim.deepcopy(M.defaults)

--- Optional. Settings for the server and the plugin; may be called again to change them.
---@param opts? table
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local settings = vim.tbl_extend('force', {}, M.config.settings)
  local init = vim.tbl_extend('force', {}, settings, { trustedWorkspace = M.config.trusted_workspace })
  vim.lsp.config('fused_ls', {
    init_options = init,
    settings = { fused = next(settings) and settings or vim.empty_dict() },
  })
  -- Running servers get the new settings at once.
  for _, client in ipairs(vim.lsp.get_clients({ name = 'fused_ls' })) do
    client.settings = { fused = settings }
    client:notify('workspace/didChangeConfiguration', { settings = { fused = settings } })
  end
end

--- The executable the server starts with: the configured `cmd[1]` (nil when `cmd` is a function).
---@return string|nil cmd, string|nil path
function M.binary()
  local ok, cfg = pcall(function()
    return vim.lsp.config.fused_ls
  end)
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
  local enabled = vim.lsp.is_enabled and vim.lsp.is_enabled('fused_ls')
    or (vim.lsp._enabled_configs or {})['fused_ls'] ~= nil
  if warned or not enabled then
    return
  end
  if vim.bo[bufnr].buftype ~= '' then
    return
  end
  if vim.bo[bufnr].filetype == 'json' and vim.fs.basename(vim.api.nvim_buf_get_name(bufnr)) ~= 'meta.json' then
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
        .. "or point to it: vim.lsp.config('fused_ls', { cmd = { '/path/to/fused-ls', 'server' } })"):format(
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
  local clients = vim.lsp.get_clients({ name = 'fused_ls', bufnr = bufnr })
  return clients[1]
end

local function refresh_lenses(bufnr)
  if M.config.codelens and vim.api.nvim_buf_is_valid(bufnr) then
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  end
end

--- LspAttach for fused_ls: lenses, inlay hints, keymaps, fix-on-save.
---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  if M.config.inlay_hints and client:supports_method('textDocument/inlayHint') then
    vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  end
  local group = vim.api.nvim_create_augroup('fused_buf_' .. bufnr, { clear = true })
  if client:supports_method('textDocument/codeLens') then
    refresh_lenses(bufnr)
    vim.api.nvim_create_autocmd({ 'BufWritePost', 'InsertLeave', 'BufEnter' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        refresh_lenses(bufnr)
      end,
    })
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
  local commands = require('fused.commands')
  for action, lhs in pairs(M.config.keymaps or {}) do
    if lhs and commands.keymap_actions[action] then
      vim.keymap.set('n', lhs, commands.keymap_actions[action], { buffer = bufnr, desc = 'Fused ' .. action })
    end
  end
end

return M
