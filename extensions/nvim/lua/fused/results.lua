-- A run's result (the `fused-ls run --format json` contract) in a reusable scratch buffer, and
-- its error in the quickfix list at the UDF's failing line.
local M = {}

local BUF_NAME = 'fused://result'
local QF_TITLE = 'fused run'

-- The key of the last result shown: the server sends it twice (the `fused/runResult`
-- notification and the executeCommand reply), it is drawn once.
local last_key = nil
M.last = nil -- the last result shown, with its uri

--- Shortest decimal form that reads back as the same double (so bounds print as the SDK's).
local function num(n)
  if n ~= n then
    return 'NaN'
  end
  if n == math.floor(n) and math.abs(n) < 1e15 then
    return string.format('%d', n)
  end
  for p = 15, 17 do
    local s = string.format('%.' .. p .. 'g', n)
    if tonumber(s) == n then
      return s
    end
  end
  return tostring(n)
end

--- JSON text of a decoded value, numbers exact, keys sorted.
local function encode(v)
  local t = type(v)
  if v == nil or v == vim.NIL then
    return 'null'
  elseif t == 'number' then
    return num(v)
  elseif t == 'string' then
    return vim.json.encode(v)
  elseif t == 'boolean' then
    return tostring(v)
  elseif t == 'table' then
    if vim.islist(v) then
      local parts = {}
      for _, x in ipairs(v) do
        parts[#parts + 1] = encode(x)
      end
      return '[' .. table.concat(parts, ', ') .. ']'
    end
    local keys = vim.tbl_keys(v)
    table.sort(keys, function(a, b)
      return tostring(a) < tostring(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do
      parts[#parts + 1] = vim.json.encode(tostring(k)) .. ': ' .. encode(v[k])
    end
    return '{' .. table.concat(parts, ', ') .. '}'
  end
  return tostring(v)
end
M.encode = encode

--- A table cell: strings as they are, everything else as JSON; one line.
local function cell(v)
  local s = type(v) == 'string' and v or encode(v)
  return (s:gsub('[\r\n\t]', ' '))
end

local function ms(v)
  return type(v) == 'number' and string.format('%.0f ms', v) or '?'
end

--- Rows (a list of objects) as an aligned text table, columns in `columns` order first.
---@param rows table[]
---@param columns? string[]
---@return string[]
function M.table_lines(rows, columns)
  local cols, seen = {}, {}
  local present = {}
  for _, row in ipairs(rows) do
    for k in pairs(row) do
      present[k] = true
    end
  end
  for _, c in ipairs(columns or {}) do
    if (present[c] or #rows == 0) and not seen[c] then
      cols[#cols + 1], seen[c] = c, true
    end
  end
  local extra = {}
  for k in pairs(present) do
    if not seen[k] then
      extra[#extra + 1] = k
    end
  end
  table.sort(extra)
  vim.list_extend(cols, extra)
  if #cols == 0 then
    return {}
  end
  local grid = { cols }
  for _, row in ipairs(rows) do
    local line = {}
    for i, c in ipairs(cols) do
      line[i] = row[c] == nil and '' or cell(row[c])
    end
    grid[#grid + 1] = line
  end
  local widths = {}
  for _, line in ipairs(grid) do
    for i, s in ipairs(line) do
      widths[i] = math.max(widths[i] or 0, vim.fn.strdisplaywidth(s))
    end
  end
  local out = {}
  local function render(line)
    local parts = {}
    for i, s in ipairs(line) do
      parts[i] = s .. string.rep(' ', widths[i] - vim.fn.strdisplaywidth(s))
    end
    return (table.concat(parts, '  '):gsub('%s+$', ''))
  end
  out[1] = render(grid[1])
  local rule = {}
  for i, w in ipairs(widths) do
    rule[i] = string.rep('-', w)
  end
  out[2] = table.concat(rule, '  ')
  for i = 2, #grid do
    out[#out + 1] = render(grid[i])
  end
  return out
end

local function split_lines(text)
  return vim.split((text or ''):gsub('\n$', ''), '\n', { plain = true })
end

--- The lines the result buffer shows for one run.
---@param r table the run JSON
---@param uri? string
---@return string[]
function M.lines(r, uri)
  local out = {}
  local function add(s)
    out[#out + 1] = s
  end
  local file = uri and vim.fs.basename(vim.uri_to_fname(uri)) or 'UDF'
  local what = r.mode or 'file'
  if r.tile and r.tile.z then
    what = ('tile %d/%d/%d'):format(r.tile.z, r.tile.x, r.tile.y)
  end
  local status = r.ok and 'ok' or ('failed: ' .. ((r.error or {}).class or 'error'))
  add(('%s  %s  %s  in %s (wall %s)'):format(file, what, status, ms(r.elapsed_ms), ms(r.wall_ms)))
  if r.bounds then
    add('bounds  ' .. table.concat(vim.tbl_map(num, r.bounds), ', '))
  end
  if r.params and next(r.params) then
    local keys = vim.tbl_keys(r.params)
    table.sort(keys)
    add('params  ' .. table.concat(
      vim.tbl_map(function(k)
        return k .. '=' .. cell(r.params[k])
      end, keys),
      ' '
    ))
  end
  if r.python then
    add('python  ' .. r.python)
  end
  local res = r.result
  if type(res) == 'table' then
    add('')
    local head = 'result  ' .. (res.type or '?')
    if res.rows then
      head = head .. ('  %d rows'):format(res.rows)
    end
    if res.crs then
      head = head .. '  ' .. res.crs
    end
    if res.truncated then
      head = head .. '  (truncated)'
    end
    add(head)
    if res.total_bounds then
      add('total_bounds  ' .. table.concat(vim.tbl_map(num, res.total_bounds), ', '))
    end
    if res.raster then
      local ra = res.raster
      add(('raster  %sx%s, %s band(s), %s, range %s..%s, bounds %s'):format(
        ra.width, ra.height, ra.bands, ra.dtype, encode(ra.min), encode(ra.max), encode(ra.bounds)
      ))
    end
    if res.raster_error then
      add('raster error  ' .. res.raster_error)
    end
    if res.h3 then
      add(('h3  column %s, %s cells'):format(res.h3.column, res.h3.cells))
    end
    if res.preview then
      local rows = vim.islist(res.preview) and res.preview or {}
      if #rows < (res.rows or #rows) then
        add(('preview (first %d of %d rows)'):format(#rows, res.rows))
      end
      vim.list_extend(out, M.table_lines(rows, res.columns))
    elseif type(res.value) == 'string' then
      -- A string (or the repr of a value JSON cannot hold, e.g. an array) as it prints.
      vim.list_extend(out, split_lines(res.value))
    elseif res.value ~= nil then
      vim.list_extend(out, split_lines(encode(res.value)))
    end
  end
  local err = r.error
  if type(err) == 'table' then
    add('')
    add(('error  %s: %s'):format(err.class or '?', (err.message or ''):gsub('\n', ' ')))
    if err.line then
      add(('line   %d'):format(err.line))
    end
    if err.hint then
      add('hint   ' .. err.hint)
    end
    for _, d in ipairs(err.diagnostics or {}) do
      add(('  %s:%s:%s %s %s'):format(
        vim.fs.basename(d.path or ''),
        d.line or '?',
        d.column or '?',
        d.code or '',
        d.message or ''
      ))
    end
    if err.traceback and err.traceback ~= '' then
      add('')
      vim.list_extend(out, split_lines(err.traceback))
    end
  end
  for _, stream in ipairs({ 'stdout', 'stderr' }) do
    if type(r[stream]) == 'string' and r[stream] ~= '' then
      add('')
      add('── ' .. stream .. ' ──')
      vim.list_extend(out, split_lines(r[stream]))
    end
  end
  return out
end

local function result_buf()
  local buf = vim.fn.bufnr(BUF_NAME)
  if buf ~= -1 and vim.api.nvim_buf_is_valid(buf) then
    return buf
  end
  buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, BUF_NAME)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'fusedresult'
  vim.keymap.set('n', '<C-c>', function()
    require('fused.commands').cancel()
  end, { buffer = buf, desc = 'Cancel the running UDF' })
  vim.keymap.set('n', 'q', '<cmd>close<cr>', { buffer = buf, desc = 'Close' })
  return buf
end

--- Shows the result buffer in a window (reusing one that shows it), keeping the cursor where it is.
---@param force? boolean open even when the configured split is false
function M.open(force)
  local buf = result_buf()
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    return buf, win
  end
  local cfg = require('fused').config.result or {}
  if cfg.split == false and not force then
    return buf, nil
  end
  if cfg.float then
    -- A float over the editor's lower part, not entered (a run's result should not take the
    -- cursor); `:Fused result` or <C-w>w reaches it.
    local width = math.max(40, math.floor(vim.o.columns * 0.8))
    local height = math.max(5, math.min(cfg.height or 15, vim.o.lines - 4))
    win = vim.api.nvim_open_win(buf, false, {
      relative = 'editor',
      width = width,
      height = height,
      row = math.max(0, vim.o.lines - height - 4),
      col = math.floor((vim.o.columns - width) / 2),
      border = 'rounded',
      title = ' fused run ',
      style = 'minimal',
    })
    return buf, win
  end
  local prev = vim.api.nvim_get_current_win()
  vim.cmd((cfg.split or 'botright') .. ' split')
  win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  if cfg.height and not tostring(cfg.split):find('vertical') then
    vim.api.nvim_win_set_height(win, cfg.height)
  end
  vim.wo[win].wrap = false
  vim.wo[win].number = false
  vim.wo[win].winfixheight = true
  if vim.api.nvim_win_is_valid(prev) then
    vim.api.nvim_set_current_win(prev)
  end
  return buf, win
end

local function set_lines(lines)
  local buf = M.open()
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  return buf
end

--- While a run goes: say so in the result buffer.
function M.running(uri, what)
  local file = uri and vim.fs.basename(vim.uri_to_fname(uri)) or 'UDF'
  set_lines({ ('%s  %s  running…  (<C-c> or :Fused cancel stops it)'):format(file, what or 'file') })
end

--- The quickfix list: the failing line, or the check's errors that stopped the run; emptied
--- (only if it is ours) when a run succeeds.
local function quickfix(r, uri)
  local err = r.error
  local items = {}
  if type(err) == 'table' then
    local fname = uri and vim.uri_to_fname(uri) or nil
    for _, d in ipairs(err.diagnostics or {}) do
      items[#items + 1] = {
        filename = d.path,
        lnum = d.line or 1,
        col = d.column or 1,
        text = ('%s %s'):format(d.code or '', d.message or ''),
        type = (d.severity == 'error') and 'E' or 'W',
      }
    end
    if #items == 0 and fname then
      items[1] = {
        filename = fname,
        lnum = err.line or 1,
        col = 1,
        text = ('%s: %s'):format(err.class or 'error', (err.message or ''):gsub('\n', ' ')),
        type = 'E',
      }
    end
  end
  local current = vim.fn.getqflist({ title = 0 }).title or ''
  if #items > 0 then
    vim.fn.setqflist({}, ' ', { title = QF_TITLE, items = items })
  elseif current == QF_TITLE then
    vim.fn.setqflist({}, 'r', { title = QF_TITLE, items = {} })
  end
end

--- Shows a run's result (from the notification or the reply; the same result is shown once).
---@param r table the run JSON
---@param uri? string
function M.show(r, uri)
  if type(r) ~= 'table' then
    return
  end
  local key = table.concat({ uri or '', tostring(r.wall_ms), tostring(r.elapsed_ms), tostring(r.ok) }, '|')
  if key == last_key then
    return
  end
  last_key = key
  M.last = { result = r, uri = uri }
  set_lines(M.lines(r, uri))
  quickfix(r, uri)
  -- No message here: the server already says it in one line (window/showMessage).
end

--- Handler of the server's `fused/runResult` notification.
function M.handler(_, params, _)
  if type(params) == 'table' then
    M.show(params.result, params.uri)
  end
end

return M
