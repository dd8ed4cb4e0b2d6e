-- fused-ls in Neovim: the `:Fused` command, the run-result handler, attach-time setup, and a
-- visible error when the binary is missing. On 0.11+ the server starts with
-- `vim.lsp.enable('fused_ls')` (the config is `lsp/fused_ls.lua`); on older releases the plugin
-- starts it from that same file (lua/fused/fallback.lua).
if vim.g.loaded_fused then
  return
end
vim.g.loaded_fused = true

local compat = require('fused.compat')
local group = vim.api.nvim_create_augroup('fused', { clear = true })

vim.api.nvim_create_autocmd('FileType', {
  group = group,
  pattern = { 'python', 'json' },
  callback = function(ev)
    require('fused').check_binary(ev.buf)
    if not compat.native then
      require('fused.fallback').start(ev.buf)
    end
  end,
})

-- A run's progress ("running Pkg.py …") in the message area while it goes.
if compat.has('0.10') then
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      local value = ev.data.params and ev.data.params.value
      if not (client and client.name == 'fused_ls' and type(value) == 'table') then
        return
      end
      -- Nothing at the end: the server's one-line outcome (window/showMessage) says it.
      if value.kind ~= 'end' then
        local parts = {}
        for _, s in ipairs({ value.title or '', value.message or '' }) do
          if s ~= '' then
            parts[#parts + 1] = s
          end
        end
        vim.api.nvim_echo({ { 'fused: ' .. table.concat(parts, ': ') } }, false, {})
      end
    end,
  })
end

if not compat.full then
  -- The server (diagnostics, fixes, hover, completion, lenses) works; what needs 0.11 says so.
  vim.api.nvim_create_user_command('Fused', function()
    vim.notify(
      ('fused-ls: `:Fused` needs Neovim 0.11+ (this is %s); `:checkhealth fused` lists what works here'):format(
        compat.version()
      ),
      vim.log.levels.WARN
    )
  end, { nargs = '*', bang = true })
  return
end

vim.api.nvim_create_user_command('Fused', function(opts)
  require('fused.commands').dispatch(opts)
end, {
  nargs = '*',
  bang = true,
  desc = 'fused-ls: run, tile, rerun, preview, sync, new, pack, info, cancel, result',
  complete = function(...)
    return require('fused.commands').complete(...)
  end,
})

-- The server's result of a run (`fused.run`, from a command or a "▶ Run" lens).
vim.lsp.handlers['fused/runResult'] = function(...)
  return require('fused.results').handler(...)
end

-- "▶ Run" lenses carry the server's `fused.run`: run it through the plugin, so that a lens run
-- is remembered for `:Fused rerun`, shows "running…" and can be cancelled like `:Fused run`.
vim.lsp.commands['fused.run'] = function(command, ctx)
  local args = (command.arguments or {})[1] or {}
  require('fused.commands').run(args, ctx.bufnr)
end

-- The fallback start passes `on_attach` itself.
if compat.native then
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == 'fused_ls' then
        require('fused').on_attach(client, ev.buf)
      end
    end,
  })
end
