-- (3) `:Fused tile 13/2411/3079` fills the result buffer with the SDK's bounds; a failing UDF
-- puts its line in the quickfix list; `:Fused! run` re-runs; a "▶ Run" lens runs through the
-- plugin; `:Fused info` names the interpreter.
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))
T.main(function()
  require('fused').setup({ settings = { python = assert(os.getenv('FUSED_NVIM_PYTHON')) } })
  local results = require('fused.results')
  local function result_lines()
    local buf = vim.fn.bufnr('fused://result')
    return buf ~= -1 and T.lines(buf) or {}
  end
  local function wait_result(pattern, what)
    T.wait(30000, function()
      return table.concat(result_lines(), '\n'):find(pattern) ~= nil
    end, what)
    return result_lines()
  end

  local tile = T.open(T.ws .. '/run/Tile_Receivers/Tile_Receivers.py')
  -- Parameter completion, from the server: `name=` per UDF parameter; in Tile mode not the
  -- parameter that receives the tile bounds.
  T.seen.complete_tile = vim.fn.getcompletion('Fused tile 13/2411/3079 ', 'cmdline')
  T.seen.complete_tile_first = vim.fn.getcompletion('Fused tile ', 'cmdline')
  T.seen.complete_tile_run = vim.fn.getcompletion('Fused run ', 'cmdline')
  local editor_win = vim.api.nvim_get_current_win()
  vim.cmd('Fused tile 13/2411/3079 label=from-nvim')
  T.seen.tile = wait_result('in %d+ ms', 'tile result')
  T.seen.focus_kept = vim.api.nvim_get_current_win() == editor_win
  T.seen.result_window = vim.fn.bufwinid('fused://result') ~= -1
  T.seen.windows = #vim.api.nvim_tabpage_list_wins(0)

  -- A DataFrame: the preview rows as an aligned table.
  local pts = T.open(T.ws .. '/serve/Points_Tile/Points_Tile.py')
  vim.cmd('Fused tile 37.7749 -122.4194 12')
  T.seen.table = wait_result('Points_Tile.py.- in %d+ ms', 'table result')
  T.seen.windows_after_second = #vim.api.nvim_tabpage_list_wins(0)

  -- A raster: its size, bands, type and bounds (the PNG itself is for the map).
  T.open(T.ws .. '/serve/Raster_Tile/Raster_Tile.py')
  vim.cmd('Fused tile 13/2411/3079 size=64')
  T.seen.raster = wait_result('Raster_Tile.py.- in %d+ ms', 'raster result')

  local failing = T.open(T.ws .. '/run/Failing_Udf/Failing_Udf.py')
  T.seen.complete_run = vim.fn.getcompletion('Fused run ', 'cmdline')
  T.seen.complete_run_given = vim.fn.getcompletion('Fused run how=raise ', 'cmdline')
  T.seen.complete_run_prefix = vim.fn.getcompletion('Fused run se', 'cmdline')
  T.seen.complete_run_value = vim.fn.getcompletion('Fused run how=', 'cmdline')
  vim.cmd('Fused run how=raise seconds=2.5')
  T.seen.failing = wait_result('ZeroDivisionError', 'failing result')
  T.wait(5000, function()
    return #vim.fn.getqflist() > 0
  end, 'quickfix')
  T.seen.qf = vim.tbl_map(function(it)
    return { file = vim.api.nvim_buf_get_name(it.bufnr), lnum = it.lnum, text = it.text, type = it.type }
  end, vim.fn.getqflist())
  T.seen.qf_title = vim.fn.getqflist({ title = 0 }).title

  -- `:Fused! run` repeats the last run (same params).
  local rbuf = vim.fn.bufnr('fused://result')
  vim.bo[rbuf].modifiable = true
  vim.api.nvim_buf_set_lines(rbuf, 0, -1, false, {})
  vim.bo[rbuf].modifiable = false
  vim.cmd('Fused! run')
  T.seen.rerun = wait_result('ZeroDivisionError', 'rerun result')

  -- The "▶ Run" lens of the tile UDF, through vim.lsp.codelens.run().
  vim.api.nvim_set_current_buf(tile)
  T.wait(10000, function()
    local l = vim.lsp.codelens.get(tile)
    return #l > 0 and l[1].command ~= nil
  end, 'lenses on Tile_Receivers')
  local lens_line
  for _, l in ipairs(vim.lsp.codelens.get(tile)) do
    if l.command and l.command.title == '▶ Run tile' then
      lens_line = l.range.start.line + 1
    end
  end
  T.seen.lens_line = lens_line
  if lens_line then
    vim.api.nvim_win_set_cursor(0, { lens_line, 0 })
    -- Two lenses on one line ask which one: answer "▶ Run tile".
    vim.ui.select = function(items, opts, on_choice)
      for i, item in ipairs(items) do
        local title = (opts.format_item and opts.format_item(item)) or (item.command and item.command.title) or tostring(item)
        if tostring(title):find('Run tile') then
          return on_choice(item, i)
        end
      end
      on_choice(items[1], 1)
    end
    vim.lsp.codelens.run()
    T.seen.lens_run = wait_result('Tile_Receivers.py  tile 13/2411/3079  ok', 'lens run result')
    T.seen.qf_after_ok = #vim.fn.getqflist()
  end
  T.seen.info = require('fused.commands').info(tile)

  -- `result = { float = true }`: the result in a float that does not take the cursor.
  require('fused').setup({ settings = { python = os.getenv('FUSED_NVIM_PYTHON') }, result = { float = true } })
  vim.api.nvim_win_close(vim.fn.bufwinid('fused://result'), true)
  vim.api.nvim_set_current_buf(tile)
  local before = vim.api.nvim_get_current_win()
  vim.cmd('Fused tile 13/2411/3079')
  T.wait(30000, function()
    local w = vim.fn.bufwinid('fused://result')
    return w ~= -1 and table.concat(result_lines(), '\n'):find('  ok  in', 1, true) ~= nil
  end, 'float result')
  local fw = vim.fn.bufwinid('fused://result')
  T.seen.float_relative = fw ~= -1 and vim.api.nvim_win_get_config(fw).relative or nil
  T.seen.float_focus_kept = vim.api.nvim_get_current_win() == before
  vim.cmd('Fused result')
  T.seen.result_cmd_focuses = vim.api.nvim_get_current_win() == fw
  vim.api.nvim_win_close(fw, true)
  require('fused').setup({ settings = { python = os.getenv('FUSED_NVIM_PYTHON') } })

  -- From meta.json, the package's UDF runs (not meta.json as Python).
  T.open(T.ws .. '/run/Tile_Receivers/meta.json')
  vim.cmd('Fused tile')
  T.seen.from_meta = wait_result('Tile_Receivers.py  tile 13/2411/3079  ok', 'run from meta.json')

  -- A run that `check` stops: its errors in the quickfix list.
  T.open(T.ws .. '/broken/Bounds_Int/Bounds_Int.py')
  vim.cmd('Fused tile')
  T.seen.check_failed = wait_result('CheckFailed', 'CheckFailed result')
  T.seen.check_failed_qf = vim.tbl_map(function(it)
    return { file = vim.api.nvim_buf_get_name(it.bufnr), lnum = it.lnum, col = it.col, text = it.text }
  end, vim.fn.getqflist())

  -- `:Fused cancel` stops a run that loops (the server kills its process group).
  vim.api.nvim_set_current_buf(failing)
  local progress = {}
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(ev)
      table.insert(progress, ev.data.params.value.kind)
    end,
  })
  vim.cmd('Fused run how=loop seconds=30')
  T.wait(10000, function()
    return vim.tbl_contains(progress, 'begin')
  end, 'progress begin')
  vim.wait(500)
  T.seen.running_before_cancel = require('fused.commands').running()
  local t0 = vim.uv.hrtime()
  vim.cmd('Fused cancel')
  T.wait(10000, function()
    return vim.tbl_contains(progress, 'end')
  end, 'progress end after cancel')
  T.seen.cancel_ms = (vim.uv.hrtime() - t0) / 1e6
  vim.wait(300)
  T.seen.progress = progress
  T.seen.running_after_cancel = require('fused.commands').running()
  T.seen.after_cancel = result_lines()
  -- The UDF's child (`sleep`, its pid printed by the UDF) is gone with the run.
  local child = tonumber(table.concat(T.seen.after_cancel, '\n'):match('child (%d+)'))
  T.seen.child_pid = child
  if child then
    T.wait(3000, function()
      return vim.uv.kill(child, 0) ~= 0
    end, 'the cancelled run\'s child exits')
    T.seen.child_alive = vim.uv.kill(child, 0) == 0
  end
  T.seen.last_python = results.last and results.last.result.python

  -- `<C-c>` in the result buffer cancels the run in flight.
  progress = {}
  vim.cmd('Fused run how=loop seconds=30')
  T.wait(10000, function()
    return vim.tbl_contains(progress, 'begin')
  end, 'progress begin (<C-c>)')
  vim.wait(300)
  vim.cmd('Fused result')
  T.seen.ctrlc_in_result_buffer = vim.api.nvim_get_current_buf() == vim.fn.bufnr('fused://result')
  T.seen.ctrlc_running_before = require('fused.commands').running()
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<C-c>', true, false, true), 'x', false)
  T.wait(10000, function()
    return vim.tbl_contains(progress, 'end')
      and table.concat(result_lines(), '\n'):find('Cancelled', 1, true) ~= nil
      and not require('fused.commands').running() -- the request's reply arrives after the notification
  end, 'cancelled by <C-c>')
  T.seen.ctrlc_result = result_lines()
  T.seen.ctrlc_running_after = require('fused.commands').running()
  vim.cmd('wincmd p')

  -- Keymaps of setup({ keymaps = ... }): buffer-local on fused_ls buffers (attached before or
  -- after it), each doing what its name says when pressed.
  local keymaps = { run = '<leader>fr', tile = '<leader>ft', rerun = '<leader>fR', preview = '<leader>fp', cancel = '<leader>fc' }
  require('fused').setup({ settings = { python = os.getenv('FUSED_NVIM_PYTHON') }, keymaps = keymaps })
  local ct = T.open(T.ws .. '/run/Coercion_Table/Coercion_Table.py')
  T.seen.complete_coercion = vim.fn.getcompletion('Fused run ', 'cmdline')
  T.seen.keymaps = {}
  for action, lhs in pairs(keymaps) do
    local m = vim.fn.maparg(lhs, 'n', false, true)
    T.seen.keymaps[action] = { desc = m.desc, buffer = m.buffer }
  end
  local press = function(lhs)
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(lhs, true, false, true), 'x', false)
  end
  press('<leader>fr')
  T.seen.keymap_run = wait_result('Coercion_Table.py  file  ok', 'keymap run')
  T.seen.keymap_buffer = vim.api.nvim_get_current_buf() == ct
  vim.api.nvim_set_current_buf(tile)
  T.seen.keymap_on_earlier_buffer = vim.fn.maparg('<leader>fr', 'n') ~= ''
end)
