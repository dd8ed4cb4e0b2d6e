-- The server's start where `vim.lsp.config` / `vim.lsp.enable` do not exist (Neovim < 0.11):
-- on FileType python/json the plugin starts it itself, from the same `lsp/fused_ls.lua` the
-- 0.11 path reads (loaded from the runtimepath, not a copy), with `vim.lsp.start` (0.8+) or
-- `vim.lsp.start_client` + `vim.lsp.buf_attach_client` (0.7).
local M = {}

local compat = require('fused.compat')

local base = nil

--- lsp/fused_ls.lua as a table (the file 0.11 reads for `vim.lsp.enable('fused_ls')`).
local function load_base()
  if not base then
    local path = vim.api.nvim_get_runtime_file('lsp/fused_ls.lua', false)[1]
    base = path and dofile(path) or {}
  end
  return base
end

--- The effective config: lsp/fused_ls.lua, then what `setup()` derives (settings,
--- init_options), then `setup({ lsp = {...} })`, the fallback's stand-in for `vim.lsp.config`.
function M.config()
  local fused = require('fused')
  return vim.tbl_deep_extend('force', load_base(), fused.lsp_overrides or {}, fused.config.lsp or {})
end

-- 0.7: one client per root (vim.lsp.start does this matching itself on 0.8+).
local by_root = {}

local function start_with(cfg, root, bufnr)
  local c = {
    name = 'fused_ls',
    cmd = cfg.cmd,
    root_dir = root,
    workspace_folders = root and { { uri = vim.uri_from_fname(root), name = root } } or nil,
    init_options = cfg.init_options,
    settings = cfg.settings,
    handlers = cfg.handlers,
    capabilities = cfg.capabilities,
    on_attach = function(client, b)
      require('fused').on_attach(client, b)
      if cfg.on_attach then
        cfg.on_attach(client, b)
      end
    end,
  }
  if vim.lsp.start then
    return vim.lsp.start(c, { bufnr = bufnr })
  end
  local key = root or vim.api.nvim_buf_get_name(bufnr)
  local id = by_root[key]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client(c)
    by_root[key] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- FileType python/json: starts (or reuses) the server for the buffer, as `vim.lsp.enable`
--- would: the config's filetypes, its root_dir (which also skips JSON files other than
--- meta.json), a missing binary left to `check_binary`'s message.
---@param bufnr integer
function M.start(bufnr)
  if vim.bo[bufnr].buftype ~= '' or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local cfg = M.config()
  if not vim.tbl_contains(cfg.filetypes or {}, vim.bo[bufnr].filetype) then
    return
  end
  if type(cfg.cmd) == 'table' and vim.fn.executable(cfg.cmd[1]) == 0 then
    return
  end
  if type(cfg.root_dir) == 'function' then
    cfg.root_dir(bufnr, function(root)
      start_with(cfg, root, bufnr)
    end)
  else
    start_with(cfg, cfg.root_dir or compat.root(bufnr, cfg.root_markers or {}), bufnr)
  end
end

return M
