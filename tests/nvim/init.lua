-- The test's whole Neovim configuration: the plugin on the runtimepath and the one line a user
-- writes. Nothing else (run with `nvim --headless --clean -u tests/nvim/init.lua`).
vim.g.loaded_python3_provider = 0
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.rtp:prepend(assert(os.getenv('FUSED_NVIM_PLUGIN'), 'FUSED_NVIM_PLUGIN not set'))
vim.lsp.enable('fused_ls')
