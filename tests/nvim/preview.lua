-- (4) `:Fused preview` gets a loopback URL from the server's `fused.preview`, hands it to
-- vim.ui.open and prints it; the URL serves the map page (fetched with curl).
local T = dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'lib.lua'))
T.main(function()
  require('fused').setup({ settings = { python = assert(os.getenv('FUSED_NVIM_PYTHON')) } })
  T.open(T.ws .. '/serve/Points_Tile/Points_Tile.py')
  local opened
  vim.ui.open = function(url)
    opened = url
    return { wait = function() end }, nil
  end
  vim.cmd('Fused preview')
  T.wait(15000, function()
    return opened ~= nil
  end, 'vim.ui.open called')
  T.seen.opened = opened
  local function fetch(url)
    local out = vim.system({ 'curl', '-s', '-o', '-', '-w', '\n%{http_code}', '--max-time', '10', url }, { text = true }):wait(15000)
    local body = out.stdout or ''
    local code = body:match('\n(%d+)$')
    return { status = tonumber(code), body = body:sub(1, 4000) }
  end
  if opened then
    local page = fetch(opened)
    T.seen.page_status = page.status
    -- The map page itself when the binary embeds the map's bundle (web/build.sh ran before the
    -- build, as in run-all.sh), else the page saying how to build it: HTML naming the UDF either way.
    T.seen.page_is_html = page.body:lower():find('<!doctype html', 1, true) == 1
    T.seen.page_names_udf = page.body:find('Points_Tile', 1, true) ~= nil
    T.seen.page_head = page.body:sub(1, 300)
    local p = require('fused.commands').last_preview or {}
    T.seen.udf = p.udf
    T.seen.base = p.base
    if p.base then
      local udfs = fetch(p.base .. 'udfs')
      T.seen.udfs_status = udfs.status
      T.seen.udfs_has_points = udfs.body:find('Points_Tile', 1, true) ~= nil
      -- Without the token the service answers nothing.
      local port = p.base:match('^http://127%.0%.0%.1:(%d+)/')
      T.seen.no_token_status = port and fetch('http://127.0.0.1:' .. port .. '/udfs').status
    end
  end
  -- Again, with no browser to open (vim.ui.open finds no opener over SSH): the same service's
  -- URL, printed, and a warning.
  local second
  vim.ui.open = function(url)
    second = url
    return nil, 'vim.ui.open: no handler found'
  end
  local n = #T.seen.notifications
  vim.cmd('Fused preview')
  T.wait(15000, function()
    return second ~= nil and #T.seen.notifications >= n + 2
  end, 'second preview')
  T.seen.second = second
  T.seen.second_notes = vim.list_slice(T.seen.notifications, n + 1)
end)
