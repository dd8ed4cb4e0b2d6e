-- The fused-ls language server for Neovim 0.11+ (`:h lsp-config`): with this plugin on the
-- runtimepath, `vim.lsp.enable('fused_ls')` is all a user writes; `vim.lsp.config('fused_ls', {...})`
-- overrides any field (cmd, settings, init_options, ...). On older releases the plugin starts
-- the server from this same table itself (lua/fused/fallback.lua).
-- The repository first, else the package: Neovim 0.11 tries each marker over all ancestors in
-- turn, and one server per repository (not per package) shares one warm worker and one live map
-- listing every UDF, and lets a run find a `.venv` at the repository's root (the server looks for
-- one up to the workspace folder).
local markers = { '.git', 'meta.json' }

---@type vim.lsp.Config
return {
  cmd = { 'fused-ls', 'server' },
  filetypes = { 'python', 'json' },
  root_markers = markers,
  -- Python files always; of JSON files only a package's meta.json (the server has nothing to
  -- say about package.json or tsconfig.json, so it should not even start for them).
  -- (Written for every release: on Neovim < 0.11 the plugin's fallback start calls it too.)
  root_dir = function(bufnr, on_dir)
    local compat = require('fused.compat')
    local name = vim.api.nvim_buf_get_name(bufnr)
    if vim.bo[bufnr].filetype == 'json' and compat.basename(name) ~= 'meta.json' then
      return
    end
    local cfg = require('fused').lsp_config() or {}
    on_dir(compat.root(bufnr, cfg.root_markers or markers))
  end,
  -- Settings travel both ways the server reads them: as initializationOptions at start and as
  -- the `fused` section of workspace/configuration. `require('fused').setup()` fills both.
  init_options = { trustedWorkspace = false },
  settings = { fused = vim.empty_dict() },
}
