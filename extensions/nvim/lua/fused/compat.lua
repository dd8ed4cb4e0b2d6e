-- What differs between Neovim releases, in one place: the server start (vim.lsp.enable on 0.11+,
-- vim.lsp.start on 0.8–0.10, vim.lsp.start_client on 0.7), and the few helpers the start, the
-- binary check and `:checkhealth fused` need on every release. The `:Fused` command and the
-- run-result buffer use 0.11 APIs directly and are only loaded there (`M.full`).
local M = {}

local function has(v)
  return vim.fn.has('nvim-' .. v) == 1
end
M.has = has

--- True when the server starts through `vim.lsp.config` / `vim.lsp.enable` (0.11+). Setting
--- `vim.g.fused_ls_fallback = true` before the plugin loads takes the fallback start instead
--- (what older releases do), which is how the tests exercise it on 0.11.
M.native = vim.lsp.config ~= nil and vim.lsp.enable ~= nil and not vim.g.fused_ls_fallback

--- The `:Fused` command, run results, lens runs, fix-on-save and keymaps need 0.11 (they use
--- `client:request()`, `vim.system`, `vim.fs.joinpath`...), with either start.
M.full = has('0.11')

--- What this Neovim lacks, each with the release that brings it (for `:checkhealth fused`).
---@return { what: string, since: string }[]
function M.missing()
  local out = {}
  local function need(ok, what, since)
    if not ok then
      out[#out + 1] = { what = what, since = since }
    end
  end
  need(vim.lsp.config ~= nil, "vim.lsp.config / vim.lsp.enable (the plugin starts the server itself)", '0.11')
  need(M.full, '`:Fused` (run, tile, rerun, cancel, preview, sync, new, pack, info), the run-result buffer and quickfix, "▶ Run" lenses run through the plugin, fix-on-save, keymaps', '0.11')
  need(vim.lsp.inlay_hint ~= nil, 'inlay hints', '0.10')
  need(has('0.10'), "a run's progress in the message area (LspProgress)", '0.10')
  need(vim.lsp.start ~= nil, 'vim.lsp.start (the server starts through vim.lsp.start_client instead)', '0.8')
  return out
end

function M.version()
  local v = vim.version()
  return ('%d.%d.%d'):format(v.major, v.minor, v.patch)
end

function M.basename(path)
  return vim.fn.fnamemodify(path, ':t')
end

function M.dirname(path)
  return vim.fn.fnamemodify(path, ':h')
end

local function exists(path)
  return (vim.uv or vim.loop).fs_stat(path) ~= nil
end

--- The closest folder above the buffer's file holding a marker, each marker tried over all
--- ancestors in turn (as `vim.fs.root` does on 0.10+).
---@param bufnr integer
---@param markers string[]
---@return string|nil
function M.root(bufnr, markers)
  if vim.fs and vim.fs.root then
    return vim.fs.root(bufnr, markers)
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local start = name ~= '' and M.dirname(vim.fn.fnamemodify(name, ':p')) or vim.fn.getcwd()
  for _, marker in ipairs(markers) do
    local dir = start
    while true do
      if exists(dir .. '/' .. marker) then
        return dir
      end
      local parent = M.dirname(dir)
      if parent == dir then
        break
      end
      dir = parent
    end
  end
  return nil
end

--- The clients named `name` (attached to `bufnr` when given).
function M.get_clients(name, bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = name, bufnr = bufnr })
  end
  local all = bufnr and vim.tbl_values(vim.lsp.buf_get_clients(bufnr)) or vim.lsp.get_active_clients()
  return vim.tbl_filter(function(c)
    return c.name == name
  end, all)
end

--- client:supports_method() on 0.11, client.supports_method() before.
function M.supports(client, method)
  if M.full then
    return client:supports_method(method)
  end
  return client.supports_method(method)
end

--- client:notify() on 0.11, client.notify() before.
function M.notify(client, method, params)
  if M.full then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

--- Runs `cmd` (a list) to completion: { code, stdout, stderr } (stderr folded into stdout
--- before 0.10).
function M.run(cmd, timeout_ms)
  if vim.system then
    return vim.system(cmd, { text = true }):wait(timeout_ms)
  end
  local out = vim.fn.system(cmd)
  return { code = vim.v.shell_error, stdout = out, stderr = '' }
end

--- `:checkhealth` reporters: vim.health.{start,ok,...} on 0.10+, report_* on 0.8–0.9, the
--- `health` module on 0.7.
function M.health()
  local h = vim.health or require('health')
  local function pick(name)
    return h[name] or h['report_' .. name]
  end
  return {
    start = pick('start'),
    ok = pick('ok'),
    info = pick('info'),
    warn = pick('warn'),
    error = pick('error'),
  }
end

return M
