-- `:Fused {subcommand}`: runs through the server's `fused.run`, the live map through
-- `fused.preview`, package actions through code actions or the CLI.
local M = {}

local fused = require('fused')
local results = require('fused.results')

-- The last run's arguments (for `:Fused rerun` / `:Fused! run`) and the request in flight.
M.last_run = nil
local pending = nil -- { client = vim.lsp.Client, id = integer, token = string }
local token_seq = 0

local function err(msg)
  vim.notify('fused: ' .. msg, vim.log.levels.ERROR)
end

local function need_client(bufnr)
  local client = fused.client(bufnr)
  if not client then
    local cmd, path = fused.binary()
    if cmd and not path then
      err(('`%s` is not executable (not on PATH?). Install it: %s'):format(cmd, fused.install_hint))
    else
      err('fused-ls is not attached to this buffer (`:checkhealth fused`; on 0.11 the plugin needs `vim.lsp.enable("fused_ls")`)')
    end
  end
  return client
end

local function describe(args)
  if args.mode ~= 'tile' then
    return 'file'
  end
  if args.tile then
    return 'tile ' .. args.tile
  elseif args.bbox then
    return 'tile bbox ' .. table.concat(args.bbox, ' ')
  elseif args.lat then
    return ('tile %s %s %s'):format(args.lat, args.lng, args.z)
  end
  return 'tile'
end

--- The UDF file a command acts on: the buffer's, or from a meta.json its step's `source` (else
--- `<package>/<package>.py`). The server would exec meta.json itself as Python.
---@param bufnr integer
---@return string uri
function M.udf_uri(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if vim.fs.basename(name) ~= 'meta.json' then
    return vim.uri_from_bufnr(bufnr)
  end
  local dir = vim.fs.dirname(name)
  local ok, meta = pcall(vim.json.decode, table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n'))
  local steps = ok and type(meta) == 'table' and type(meta.job_config) == 'table' and meta.job_config.steps
  local udf = type(steps) == 'table' and type(steps[1]) == 'table' and steps[1].udf
  local source = type(udf) == 'table' and type(udf.source) == 'string' and udf.source
  if not source or source == '' or source:find('/', 1, true) then
    source = vim.fs.basename(dir) .. '.py'
  end
  return vim.uri_from_fname(vim.fs.joinpath(dir, source))
end

--- Sends `fused.run` with `args` ({uri, mode, tile | lat/lng/z | bbox, params}) for `bufnr`.
---@param args table
---@param bufnr? integer
function M.run(args, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  args = vim.deepcopy(args)
  args.uri = args.uri or M.udf_uri(bufnr)
  -- Parameters travel as strings (the server coerces them as the SDK does); an empty Lua
  -- table would encode as a JSON array where the server wants an object.
  local params = vim.empty_dict()
  for k, v in pairs(type(args.params) == 'table' and args.params or {}) do
    params[k] = type(v) == 'string' and v or (type(v) == 'table' and vim.json.encode(v) or tostring(v))
  end
  args.params = params
  M.last_run = { args = args, bufnr = bufnr }
  if pending then
    -- One run at a time from the editor: a new one replaces the one in flight.
    pending.client:notify('window/workDoneProgress/cancel', { token = pending.token })
    pending = nil
  end
  token_seq = token_seq + 1
  local token = ('fused-nvim-run-%d'):format(token_seq)
  results.running(args.uri, describe(args))
  local this
  local ok, id = client:request('workspace/executeCommand', {
    command = 'fused.run',
    arguments = { args },
    workDoneToken = token,
  }, function(e, result)
    if pending and pending == this then
      pending = nil
    end
    if e then
      if e.code ~= vim.lsp.protocol.ErrorCodes.RequestCancelled then
        err('run failed: ' .. (e.message or vim.inspect(e)))
      end
      return
    end
    -- The reply of a replaced run is not shown over the newer one's.
    if token ~= ('fused-nvim-run-%d'):format(token_seq) then
      return
    end
    results.show(result, args.uri)
  end, bufnr)
  if ok then
    this = { client = client, id = id, token = token }
    pending = this
  end
end

--- Cancels the run in flight through its progress token (window/workDoneProgress/cancel, the
--- progress UI's cancel button): the server kills the run's process group and answers the
--- request with the `Cancelled` result, which the result buffer then shows. ($/cancelRequest
--- would make Neovim drop that answer.)
function M.cancel()
  if not pending then
    vim.notify('fused: no run in flight', vim.log.levels.INFO)
    return
  end
  pending.client:notify('window/workDoneProgress/cancel', { token = pending.token })
  vim.notify('fused: cancelling the run', vim.log.levels.INFO)
end

function M.running()
  return pending ~= nil
end

--- `key=value` words become params; the rest stays positional.
local function split_params(words)
  local params, rest = {}, {}
  for _, w in ipairs(words) do
    local k, v = w:match('^([%a_][%w_]*)=(.*)$')
    if k then
      params[k] = v
    else
      rest[#rest + 1] = w
    end
  end
  return params, rest
end

--- Parses `:Fused tile` words: `z/x/y`, `lat lng z`, `bbox minx miny maxx maxy`, or nothing.
---@return table|nil args, string|nil error
function M.parse_tile(words)
  local params, rest = split_params(words)
  local args = { mode = 'tile', params = params }
  if #rest == 0 then
    return args
  end
  if #rest == 1 and rest[1]:match('^%d+/%d+/%d+$') then
    args.tile = rest[1]
    return args
  end
  if rest[1] == 'bbox' then
    local b = {}
    for i = 2, #rest do
      b[#b + 1] = tonumber(rest[i])
    end
    if #rest ~= 5 or #b ~= 4 then
      return nil, 'bbox needs four numbers: minx miny maxx maxy'
    end
    args.bbox = b
    return args
  end
  if #rest == 3 then
    local lat, lng, z = tonumber(rest[1]), tonumber(rest[2]), tonumber(rest[3])
    if lat and lng and z then
      args.lat, args.lng, args.z = lat, lng, z
      return args
    end
  end
  return nil, 'expected z/x/y, `lat lng z` or `bbox minx miny maxx maxy` (then key=value parameters)'
end

function M.rerun()
  if not M.last_run then
    return err('nothing ran yet in this session')
  end
  local bufnr = M.last_run.bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) then
    bufnr = vim.api.nvim_get_current_buf()
  end
  M.run(M.last_run.args, bufnr)
end

--- `:Fused preview`: the live map of this buffer's UDF, opened in the browser.
function M.preview(bufnr, on_url)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  client:request('workspace/executeCommand', {
    command = 'fused.preview',
    arguments = { { uri = M.udf_uri(bufnr), open = false } },
  }, function(e, result)
    if e or type(result) ~= 'table' or not result.url then
      return err('preview failed: ' .. (e and e.message or vim.inspect(result)))
    end
    M.last_preview = result
    vim.notify('fused: live map of ' .. (result.udf or '?') .. ': ' .. result.url, vim.log.levels.INFO)
    if on_url then
      on_url(result)
    else
      -- vim.ui.open returns (nil, message) when it finds no opener (e.g. over SSH).
      local ok, cmd, why = pcall(vim.ui.open, result.url)
      if not ok or not cmd then
        vim.notify(
          'fused: could not open a browser (' .. tostring(ok and why or cmd) .. '); open the URL above',
          vim.log.levels.WARN
        )
      end
    end
  end, bufnr)
end

--- Applies the first code action of `kind` the server offers for the whole buffer.
---@return boolean applied
local function apply_source_action(client, bufnr, kind, timeout)
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.range = {
    start = { line = 0, character = 0 },
    ['end'] = { line = vim.api.nvim_buf_line_count(bufnr), character = 0 },
  }
  params.textDocument = { uri = vim.uri_from_bufnr(bufnr) }
  params.context = { only = { kind }, diagnostics = {}, triggerKind = 2 }
  local reply = client:request_sync('textDocument/codeAction', params, timeout or 3000, bufnr)
  if not reply or reply.err or type(reply.result) ~= 'table' then
    return false
  end
  for _, action in ipairs(reply.result) do
    if action.kind == kind or (action.kind or ''):find('^' .. vim.pesc(kind)) then
      if not action.edit and not action.command and client:supports_method('codeAction/resolve') then
        local resolved = client:request_sync('codeAction/resolve', action, timeout or 3000, bufnr)
        action = resolved and resolved.result or action
      end
      if action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      end
      if action.command then
        local cmd = type(action.command) == 'table' and action.command or action
        client:exec_cmd(cmd, { bufnr = bufnr })
      end
      return true
    end
  end
  return false
end

function M.fix_all(bufnr)
  local client = fused.client(bufnr)
  if client then
    apply_source_action(client, bufnr, 'source.fixAll.fused', 1000)
  end
end

--- The package folder of a buffer: the closest folder with a meta.json, else the file's folder.
local function package_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  return vim.fs.root(bufnr, 'meta.json') or (name ~= '' and vim.fs.dirname(name)) or vim.fn.getcwd()
end

--- Runs the CLI (`fused-ls ARGS`), reporting its output; `then_` gets the result.
local function cli(args, opts, then_)
  local cmd, path = fused.binary()
  if not path then
    return err(('`%s` is not executable (not on PATH?). Install it: %s'):format(cmd or 'fused-ls', fused.install_hint))
  end
  vim.system(vim.list_extend({ path }, args), { text = true, cwd = opts.cwd }, function(out)
    vim.schedule(function()
      local text = vim.trim((out.stdout or '') .. (out.stderr or ''))
      local level = out.code == 0 and vim.log.levels.INFO or vim.log.levels.ERROR
      vim.notify('fused-ls ' .. args[1] .. ': ' .. (text ~= '' and text or ('exit ' .. out.code)), level)
      if then_ then
        then_(out)
      end
    end)
  end)
end

--- `:Fused sync`: the server's "Sync meta.json with the source" (a WorkspaceEdit, so an open
--- unsaved meta.json is edited, not overwritten); without the server, `fused-ls sync`.
function M.sync(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = fused.client(bufnr)
  if client then
    if not apply_source_action(client, bufnr, 'source.fused.syncMeta') then
      vim.notify('fused: meta.json is already in sync', vim.log.levels.INFO)
    end
    return
  end
  cli({ 'sync', package_dir(bufnr) }, {}, function()
    vim.cmd('checktime')
  end)
end

--- `:Fused new NAME [--tile] [--utils]`: a package in the current directory, its UDF opened.
function M.new(words)
  local name
  local flags = {}
  for _, w in ipairs(words) do
    if w:sub(1, 2) == '--' then
      flags[#flags + 1] = w
    else
      name = name or w
    end
  end
  if not name then
    return err('usage: :Fused new NAME [--tile] [--utils]')
  end
  local cwd = vim.fn.getcwd()
  cli(vim.list_extend({ 'new', name }, flags), { cwd = cwd }, function(out)
    if out.code == 0 then
      vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(cwd, name, name .. '.py')))
    end
  end)
end

--- `:Fused pack`: zips the buffer's package into the current directory.
function M.pack(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  cli({ 'pack', package_dir(bufnr) }, { cwd = vim.fn.getcwd() })
end

--- `:Fused info`: the server, its binary and settings, the interpreter of the last run.
function M.info(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local lines = {}
  local cmd, path = fused.binary()
  lines[#lines + 1] = ('binary:      %s'):format(path or ((cmd or '?') .. ' (not found)'))
  local client = fused.client(bufnr)
  if client then
    local info = client.server_info or {}
    lines[#lines + 1] = ('server:      %s %s (client %d, %s)'):format(
      info.name or 'fused-ls',
      info.version or '',
      client.id,
      client.offset_encoding
    )
    lines[#lines + 1] = ('root:        %s'):format(client.root_dir or '(single file)')
    lines[#lines + 1] = ('settings:    %s'):format(vim.json.encode(client.config.init_options or {}))
  else
    lines[#lines + 1] = 'server:      not attached to this buffer'
  end
  local last = results.last
  if last and last.result then
    lines[#lines + 1] = ('interpreter: %s (last run)'):format(last.result.python or '?')
  else
    lines[#lines + 1] = 'interpreter: (no run yet; `:checkhealth fused` shows the one a run would use)'
  end
  lines[#lines + 1] = ('run:         %s'):format(pending and 'in flight' or 'idle')
  vim.api.nvim_echo({ { table.concat(lines, '\n') } }, true, {})
  return lines
end

--- Subcommands: name -> function(words, bang, bufnr).
M.subcommands = {
  run = function(words, bang, bufnr)
    if bang then
      return M.rerun()
    end
    local params = split_params(words)
    M.run({ mode = 'file', params = params }, bufnr)
  end,
  tile = function(words, bang, bufnr)
    if bang then
      return M.rerun()
    end
    local args, e = M.parse_tile(words)
    if not args then
      return err(':Fused tile: ' .. e)
    end
    M.run(args, bufnr)
  end,
  rerun = function()
    M.rerun()
  end,
  cancel = function()
    M.cancel()
  end,
  preview = function(_, _, bufnr)
    M.preview(bufnr)
  end,
  result = function()
    local _, win = results.open(true)
    if win then
      vim.api.nvim_set_current_win(win)
    end
  end,
  sync = function(_, _, bufnr)
    M.sync(bufnr)
  end,
  new = function(words)
    M.new(words)
  end,
  pack = function(_, _, bufnr)
    M.pack(bufnr)
  end,
  info = function(_, _, bufnr)
    M.info(bufnr)
  end,
}

M.keymap_actions = {
  run = function()
    M.subcommands.run({}, false, vim.api.nvim_get_current_buf())
  end,
  tile = function()
    M.subcommands.tile({}, false, vim.api.nvim_get_current_buf())
  end,
  rerun = M.rerun,
  preview = function()
    M.preview()
  end,
  cancel = M.cancel,
}

--- The `:Fused` user command.
function M.dispatch(opts)
  local words = vim.deepcopy(opts.fargs)
  local sub = table.remove(words, 1)
  if not sub then
    return M.info()
  end
  local fn = M.subcommands[sub]
  if not fn then
    return err(('unknown subcommand %q (one of: %s)'):format(sub, table.concat(M.names(), ', ')))
  end
  fn(words, opts.bang, vim.api.nvim_get_current_buf())
end

function M.names()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return names
end

--- Completion: subcommands, then what each takes.
function M.complete(arglead, cmdline, _)
  local words = vim.split(cmdline, '%s+', { trimempty = true })
  local n = #words
  if cmdline:match('%s$') then
    n = n + 1
  end
  local function filter(list)
    return vim.tbl_filter(function(s)
      return vim.startswith(s, arglead)
    end, list)
  end
  if n <= 2 then
    return filter(M.names())
  end
  local sub = words[2]
  if sub == 'run' or sub == 'tile' then
    local items = {}
    if sub == 'tile' and n == 3 then
      items = { '13/2411/3079', 'bbox' }
    end
    if not arglead:find('=', 1, true) then
      vim.list_extend(items, M.param_items(vim.api.nvim_get_current_buf(), sub == 'tile', words))
    end
    return filter(items)
  elseif sub == 'new' then
    return filter({ '--tile', '--utils' })
  end
  return {}
end

--- `name=` for each parameter of the buffer's UDF not given yet (in Tile mode not the one
--- that receives the tile bounds), as the server knows them (lua/fused/params.lua).
function M.param_items(bufnr, tile, words)
  local client = fused.client(bufnr)
  if not client or vim.bo[bufnr].filetype ~= 'python' then
    return {}
  end
  local given = split_params(words or {})
  local items = {}
  for _, p in ipairs(require('fused.params').get(client, bufnr)) do
    if given[p.name] == nil and not (tile and p.tile_receiver) then
      items[#items + 1] = p.name .. '='
    end
  end
  return items
end

return M
