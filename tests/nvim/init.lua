-- The test's whole Neovim configuration: the plugin on the runtimepath and the one line a user
-- writes (nothing on Neovim < 0.11). Nothing else (run with `nvim --headless --clean -u tests/nvim/init.lua`).
vim.g.loaded_python3_provider = 0
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.rtp:prepend(assert(os.getenv('FUSED_NVIM_PLUGIN'), 'FUSED_NVIM_PLUGIN not set'))
-- FUSED_NVIM_FALLBACK: the start older releases get (the plugin starts the server itself),
-- forced on 0.11; Neovim < 0.11 has no vim.lsp.enable and takes it anyway.
if os.getenv('FUSED_NVIM_FALLBACK') then
  vim.g.fused_ls_fallback = true
elseif vim.lsp.enable then
  vim.lsp.enable('fused_ls')
end
