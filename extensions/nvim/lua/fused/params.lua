-- The UDF's parameters for `:Fused run name=<Tab>`: the names written in each top-level `def`
-- signature are only candidates; the server decides which are parameters of a UDF (its hover
-- answers `**name**` ... for exactly those: not `*args`/`**kwargs`, not helpers' arguments)
-- and which one receives the tile bounds (its hover says "**Tile mode:**"), so the plugin keeps
-- no model of UDFs of its own.
local M = {}

--- Positions of the names that open each parameter of the top-level `def`s of `lines`
--- (0-based row, byte column). Strings and comments inside a signature are skipped.
---@param lines string[]
---@return { name: string, row: integer, col: integer }[]
function M.candidates(lines)
  local out = {}
  for row, line in ipairs(lines) do
    local open = line:match('^def%s+[%a_][%w_]*%s*()%(') or line:match('^async%s+def%s+[%a_][%w_]*%s*()%(')
    if open then
      local depth, quote, expect, done = 0, nil, false, false
      local r, c = row, open
      while r <= #lines and not done do
        local l = lines[r]
        while c <= #l do
          local ch = l:sub(c, c)
          if quote then
            if ch == '\\' then
              c = c + 1
            elseif ch == quote then
              quote = nil
            end
          elseif ch == '"' or ch == "'" then
            quote = ch
          elseif ch == '#' then
            break
          elseif ch == '(' or ch == '[' or ch == '{' then
            depth = depth + 1
            expect = depth == 1
          elseif ch == ')' or ch == ']' or ch == '}' then
            depth = depth - 1
            if depth == 0 then
              done = true
              break
            end
          elseif depth == 1 and ch == ',' then
            expect = true
          elseif depth == 1 and expect and ch:match('[%a_]') then
            local name = l:match('^[%a_][%w_]*', c)
            out[#out + 1] = { name = name, row = r - 1, col = c - 1 }
            expect = false
            c = c + #name - 1
          elseif depth == 1 and not ch:match('[%s%*]') then
            expect = false
          end
          c = c + 1
        end
        r, c = r + 1, 1
      end
    end
  end
  return out
end

--- The UDF parameters of `bufnr` as the server sees them, in signature order.
---@param client vim.lsp.Client
---@param bufnr integer
---@param timeout_ms? integer
---@return { name: string, tile_receiver: boolean }[]
function M.get(client, bufnr, timeout_ms)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local out, seen = {}, {}
  for _, cand in ipairs(M.candidates(lines)) do
    if not seen[cand.name] then
      local character = vim.lsp.util.character_offset(bufnr, cand.row, cand.col, client.offset_encoding)
      local reply = client:request_sync('textDocument/hover', {
        textDocument = { uri = vim.uri_from_bufnr(bufnr) },
        position = { line = cand.row, character = character },
      }, timeout_ms or 1000, bufnr)
      local contents = reply and reply.result and reply.result.contents
      local text = type(contents) == 'table' and contents.value or ''
      if text:match('^%*%*([%w_]+)%*%*') == cand.name then
        seen[cand.name] = true
        out[#out + 1] = { name = cand.name, tile_receiver = text:find('**Tile mode:**', 1, true) ~= nil }
      end
    end
  end
  return out
end

return M
