-- `:checkhealth fused`: what a run and the server need, each with its fix.
local M = {}

local compat = require('fused.compat')
local health = compat.health()

--- The interpreter a run would use, as the server picks it: the `python` setting, else a
--- `.venv`/`venv` in the buffer's folder or above it up to the workspace root, else python3.
local function interpreter(bufnr)
  local cfg = require('fused').config
  local settings = cfg.settings or {}
  local ok, lspcfg = pcall(require('fused').lsp_config)
  local init = ok and lspcfg and lspcfg.init_options or {}
  if type(settings.python) == 'string' and settings.python ~= '' then
    return settings.python, 'the `python` setting'
  end
  if type(init.python) == 'string' and init.python ~= '' then
    return init.python, 'init_options.python'
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local d = name ~= '' and compat.dirname(vim.fn.fnamemodify(name, ':p')) or vim.fn.getcwd()
  local root = compat.root(bufnr, { '.git' })
  while true do
    for _, v in ipairs({ '.venv', 'venv' }) do
      local py = d .. '/' .. v .. '/bin/python'
      if vim.fn.executable(py) == 1 then
        return py, 'a ' .. v .. ' above the file'
      end
    end
    local parent = compat.dirname(d)
    if (root and d == root) or parent == d then
      break
    end
    d = parent
  end
  return 'python3', 'the default (no `python` setting, no .venv found)'
end

-- What fails without each package (docs/sdk-behaviour.md: what each receiver type is).
local needs = {
  geopandas = 'GeoDataFrame results and `Tile`/`TileGDF` receivers need it',
  shapely = 'geometries and `Bbox` receivers need it',
  mercantile = '`TileXYZ` receivers need it',
}

function M.check()
  health.start('fused-ls: Neovim')
  local missing = compat.missing()
  if #missing == 0 then
    health.ok('Neovim ' .. compat.version())
  else
    health.warn(('Neovim %s: the server works, without what needs a newer release'):format(compat.version()), {
      'Neovim 0.11+ has all of it',
    })
    for _, m in ipairs(missing) do
      health.info(('missing before %s: %s'):format(m.since, m.what))
    end
  end
  if not compat.native then
    health.ok(
      ('the plugin starts the server itself on FileType python/json (%s, the config of lsp/fused_ls.lua%s)'):format(
        vim.lsp.start and 'vim.lsp.start' or 'vim.lsp.start_client',
        vim.g.fused_ls_fallback and '; vim.g.fused_ls_fallback is set' or ''
      )
    )
  elseif vim.lsp.is_enabled and vim.lsp.is_enabled('fused_ls') then
    health.ok("vim.lsp.enable('fused_ls') was called")
  else
    health.warn('the server is not enabled', { "add vim.lsp.enable('fused_ls') to your config" })
  end

  health.start('fused-ls: the binary')
  local fused = require('fused')
  local cmd, path = fused.binary()
  if not cmd then
    health.info('`cmd` is a function: not checked')
  elseif not path then
    health.error(('`%s` not found on PATH: the language server cannot start'):format(cmd), {
      'pip install fused-ls',
      'or from a fused-ls checkout: cargo install --locked --path server/crates/fused_ls',
      compat.native and "or: vim.lsp.config('fused_ls', { cmd = { '/path/to/fused-ls', 'server' } })"
        or "or: require('fused').setup({ lsp = { cmd = { '/path/to/fused-ls', 'server' } } })",
    })
  else
    local out = compat.run({ path, '--version' }, 5000)
    if out.code == 0 then
      health.ok(('%s: %s'):format(path, vim.trim(out.stdout or '')))
    else
      health.error(('%s --version failed (exit %s): %s'):format(path, tostring(out.code), vim.trim(out.stderr or '')), {
        'reinstall it: ' .. fused.install_hint,
      })
    end
  end
  local clients = compat.get_clients('fused_ls')
  if #clients > 0 then
    for _, c in ipairs(clients) do
      health.ok(('server running (client %d, root %s, %d buffer(s))'):format(
        c.id,
        c.root_dir or (c.config or {}).root_dir or '(single file)',
        vim.tbl_count(c.attached_buffers or {})
      ))
    end
  else
    health.info('no fused-ls server running (it starts when a Python file or meta.json is opened)')
  end

  health.start('fused-ls: Python for runs')
  local bufnr = vim.api.nvim_get_current_buf()
  local py, why = interpreter(bufnr)
  local exe = vim.fn.exepath(py)
  if exe == '' then
    health.error(('interpreter %s (%s) not found'):format(py, why), {
      "install Python 3, or set it: require('fused').setup({ settings = { python = '/path/to/python' } })",
    })
    return
  end
  local probe = [[
import importlib, sys
print(sys.version.split()[0])
for m in ("geopandas", "shapely", "mercantile", "fused"):
    try:
        mod = importlib.import_module(m)
        print(m, "ok", getattr(mod, "__version__", ""))
    except Exception as e:
        print(m, "missing", type(e).__name__)
]]
  local out = compat.run({ exe, '-c', probe }, 30000)
  if out.code ~= 0 then
    health.error(('%s (%s) failed to start: %s'):format(exe, why, vim.trim(out.stderr or '')))
    return
  end
  local lines = vim.split(vim.trim(out.stdout or ''), '\n')
  health.ok(('interpreter %s (Python %s, %s)'):format(exe, lines[1] or '?', why))
  for i = 2, #lines do
    local mod, state, version = lines[i]:match('^(%S+) (%S+)%s*(.*)$')
    if state == 'ok' then
      health.ok(('%s %s'):format(mod, version))
    elseif mod == 'fused' then
      health.info('fused not installed: runs use the bundled stand-in of the SDK', {
        ('for the real SDK: %s -m pip install fused'):format(exe),
      })
    elseif mod then
      health.warn(('%s is not importable: %s'):format(mod, needs[mod] or 'most UDFs need it'), {
        ('%s -m pip install %s'):format(exe, mod),
      })
    end
  end
end

return M
