-- Helpers of the headless test scripts: wait for a condition, record what was seen, finish.
-- Written for Neovim 0.7+ (floor.lua runs on Debian's 0.7.2).
-- Each script records observations into a table that `finish` writes as JSON to
-- $FUSED_NVIM_OUT/<name>.json; tests/nvim/check.py asserts on those files.
local T = { seen = {}, name = assert(os.getenv('FUSED_NVIM_TEST'), 'FUSED_NVIM_TEST not set') }

T.ws = assert(os.getenv('FUSED_NVIM_WS'), 'FUSED_NVIM_WS not set')

-- Everything vim.notify says, for the assertions.
T.seen.notifications = {}
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(T.seen.notifications, { msg = tostring(msg), level = level })
  return notify(msg, level, opts)
end

function T.wait(ms, cond, what)
  local ok = vim.wait(ms, cond, 20)
  if not ok then
    T.seen.timeouts = T.seen.timeouts or {}
    table.insert(T.seen.timeouts, what)
  end
  return ok
end

--- Opens a file and waits for fused_ls to attach; returns bufnr, client.
function T.open(path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local client
  T.wait(10000, function()
    -- (compat: this file also runs on Neovim 0.7, the floor test)
    client = require('fused.compat').get_clients('fused_ls', bufnr)[1]
    return client ~= nil and client.initialized
  end, 'attach ' .. path)
  return bufnr, client
end

function T.diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out, { code = d.code, lnum = d.lnum + 1, col = d.col + 1, severity = d.severity, source = d.source })
  end
  table.sort(out, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and tostring(a.code) < tostring(b.code))
  end)
  return out
end

function T.lines(bufnr)
  return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
end

function T.finish()
  local dir = assert(os.getenv('FUSED_NVIM_OUT'))
  local f = assert(io.open(dir .. '/' .. T.name .. '.json', 'w'))
  f:write(vim.json.encode(T.seen))
  f:close()
  vim.cmd('qa!')
end

--- Runs `body` and always writes what was seen, an error included.
function T.main(body)
  local ok, e = xpcall(body, debug.traceback)
  if not ok then
    T.seen.error = tostring(e)
  end
  T.finish()
end

return T
