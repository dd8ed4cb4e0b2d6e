-- The floor: Debian's Neovim 0.7.2 (no vim.lsp.start, no vim.lsp.enable, no vim.fs). With only
-- the plugin on the runtimepath and nothing else, the plugin's fallback starts the server
-- (vim.lsp.start_client + buf_attach_client) from lsp/fused_ls.lua: (1) diagnostics with their
-- FUSEDnnn codes on the right lines, in a .py and in meta.json; the root; hover, code actions
-- and lenses through Neovim's own client; `:checkhealth fused` names what 0.7 lacks; `:Fused`
-- says it needs 0.11. Written for 0.7's Lua API.
local T = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/lib.lua')
T.main(function()
  T.seen.version = vim.version().major .. '.' .. vim.version().minor .. '.' .. vim.version().patch
  T.seen.has_lsp_start = vim.lsp.start ~= nil
  local py, client = T.open(T.ws .. '/broken/Undefined_Name/Undefined_Name.py')
  T.seen.attached = client ~= nil
  T.seen.root = client and client.config.root_dir
  T.wait(10000, function()
    return #vim.diagnostic.get(py) >= 2
  end, 'diagnostics of Undefined_Name.py')
  T.seen.py = T.diagnostics(py)

  -- What Neovim's own client then does with the server: hover, a code action, lenses.
  local uri = vim.uri_from_bufnr(py)
  local hover = vim.lsp.buf_request_sync(py, 'textDocument/hover', {
    textDocument = { uri = uri },
    position = { line = 4, character = 45 }, -- `min_height`
  }, 5000)
  local h = hover and client and hover[client.id] and hover[client.id].result
  T.seen.hover = h and h.contents and h.contents.value
  -- As vim.lsp.buf.code_action() sends them on 0.7.
  local lsp_diags = vim.lsp.diagnostic.get_line_diagnostics(py, 8)
  local actions = vim.lsp.buf_request_sync(py, 'textDocument/codeAction', {
    textDocument = { uri = uri },
    range = { start = { line = 8, character = 10 }, ['end'] = { line = 8, character = 24 } },
    context = { diagnostics = lsp_diags },
  }, 5000)
  T.seen.action_titles = {}
  for _, a in ipairs(actions and client and actions[client.id] and actions[client.id].result or {}) do
    table.insert(T.seen.action_titles, a.title)
  end
  T.wait(5000, function()
    return #vim.lsp.codelens.get(py) > 0
  end, 'lenses (refreshed on attach)')
  T.seen.lenses = {}
  for _, l in ipairs(vim.lsp.codelens.get(py)) do
    table.insert(T.seen.lenses, l.command and l.command.title)
  end

  local meta, mclient = T.open(T.ws .. '/broken/Meta_Invalid_Json/meta.json')
  T.wait(10000, function()
    return #vim.diagnostic.get(meta) >= 1
  end, 'diagnostics of meta.json')
  T.seen.meta = T.diagnostics(meta)
  T.seen.meta_filetype = vim.bo[meta].filetype
  T.seen.two_roots_two_clients = client ~= nil and mclient ~= nil and client.id ~= mclient.id

  -- Reopening a file of the first package reuses its client (one server per root).
  local again, c3 = T.open(T.ws .. '/broken/Undefined_Name/Undefined_Name.py')
  T.seen.same_root_same_client = again == py and c3 ~= nil and client ~= nil and c3.id == client.id
  T.seen.clients = #require('fused.compat').get_clients('fused_ls')

  vim.cmd('Fused run')
  vim.cmd('checkhealth fused')
  T.seen.report = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
