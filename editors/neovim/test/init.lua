-- Headless end-to-end test of the mirrord-ls Neovim plugin against the real server.
-- Run by editors/neovim/test/run.sh:
--   nvim --headless -i NONE -u test/init.lua CONFIG -c 'lua MirrordLsTest()'
-- Environment:
--   MIRRORD_LS_PLUGIN_DIR   editors/neovim (put on 'runtimepath')
--   MIRRORD_LS_BIN          the server executable
--   MIRRORD_LS_TEST_NAME    a label for the PASS/FAIL lines
--   MIRRORD_LS_TEST_SETTINGS  JSON: the mirrordLs settings object
--   MIRRORD_LS_TEST_CODE    the diagnostic code expected in the buffer
--   MIRRORD_LS_TEST_LINE    its 0-based line
--   MIRRORD_LS_TEST_SEVERITY  ERROR | WARN
--   MIRRORD_LS_TEST_STATUS  text the statusline must contain (comma-separated list)
--   MIRRORD_LS_TEST_TIMEOUT_MS  how long to wait for each condition (default 20000)
--   MIRRORD_LS_TEST_LSP_LOG  an LSP log level (debug) for lsp.log, printed on a failure
-- Prints one `PASS name: what` or `FAIL name: what` line per check, exits 1 on a failure.

vim.opt.runtimepath:prepend(os.getenv('MIRRORD_LS_PLUGIN_DIR'))
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
if os.getenv('MIRRORD_LS_TEST_LSP_LOG') then -- e.g. debug: every message in lsp.log
  require('vim.lsp.log').set_level(os.getenv('MIRRORD_LS_TEST_LSP_LOG'))
end

local mirrord = require('mirrord_ls')
mirrord.setup({
  cmd = { os.getenv('MIRRORD_LS_BIN') or 'mirrord-ls', 'serve' },
  settings = vim.json.decode(os.getenv('MIRRORD_LS_TEST_SETTINGS') or '{}'),
})

local name = os.getenv('MIRRORD_LS_TEST_NAME') or 'neovim'
local timeout = tonumber(os.getenv('MIRRORD_LS_TEST_TIMEOUT_MS') or '') or 20000
local failed = 0

local function out(line)
  io.stdout:write(line .. '\n')
  io.stdout:flush()
end

local function check(ok, what, detail)
  if ok then
    out('PASS ' .. name .. ': ' .. what)
  else
    failed = failed + 1
    out('FAIL ' .. name .. ': ' .. what .. (detail and (' (' .. detail .. ')') or ''))
  end
end

local function describe(diags)
  local parts = {}
  for _, d in ipairs(diags) do
    table.insert(parts, string.format('%s@%d sev=%s %q', tostring(d.code), d.lnum, tostring(d.severity), d.message))
  end
  return #parts > 0 and table.concat(parts, '; ') or 'no diagnostics'
end

local function finish()
  vim.cmd(failed > 0 and 'cquit! 1' or 'qall!')
end

function MirrordLsTest()
  local ok, err = pcall(function()
    local bufnr = vim.api.nvim_get_current_buf()
    local path = vim.api.nvim_buf_get_name(bufnr)
    local want_code = os.getenv('MIRRORD_LS_TEST_CODE')
    local want_line = tonumber(os.getenv('MIRRORD_LS_TEST_LINE') or '')
    local want_severity = vim.diagnostic.severity[os.getenv('MIRRORD_LS_TEST_SEVERITY') or 'ERROR']
    local ext = path:match('%.([^.]+)$')

    check(mirrord.is_config(path), 'the path matches the mirrord config patterns', path)
    local cases = {
      ['/w/.mirrord/mirrord.json'] = true, ['/w/.mirrord/dev.toml'] = true, ['/w/.mirrord/x.yml'] = true,
      ['/w/a/mirrord.yaml'] = true, ['/w/a/staging.mirrord.toml'] = true, ['/w/a/my-mirrord.json'] = true,
      ['/w/team.mirrord/x.yaml'] = true, ['/w/package.json'] = false, ['/w/.mirrord/notes.md'] = false,
      ['/w/.mirrord/sub/x.json'] = false, ['/w/mirrord.json.bak'] = false, ['/w/mirrord/x.json'] = false,
    }
    local wrong = {}
    for p, want in pairs(cases) do
      if mirrord.is_config(p) ~= want then
        table.insert(wrong, p)
      end
    end
    check(#wrong == 0, 'is_config on 12 sample paths', table.concat(wrong, ', '))

    -- The server attaches (scheduled after BufRead, once the filetype is known).
    local attached = vim.wait(timeout, function()
      local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
      for _, client in pairs(clients) do
        if client.name == 'mirrord_ls' and client.initialized then
          return true
        end
      end
      return false
    end, 50)
    check(attached, 'mirrord-ls started and attached to the buffer')
    check(vim.b[bufnr].mirrord_config == 1, 'b:mirrord_config is set')
    check(vim.bo[bufnr].filetype == ({ yml = 'yaml' })[ext] or vim.bo[bufnr].filetype == ext,
      'the filetype stays ' .. tostring(ext), 'filetype=' .. vim.bo[bufnr].filetype)

    -- The expected diagnostic, on the expected line.
    local found
    vim.wait(timeout, function()
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if d.code == want_code and (want_line == nil or d.lnum == want_line) then
          found = d
          return true
        end
      end
      return false
    end, 50)
    check(found ~= nil, string.format('diagnostic %s on line %s', want_code, tostring(want_line)),
      describe(vim.diagnostic.get(bufnr)))
    if found then
      check(found.severity == want_severity, 'its severity is ' .. (os.getenv('MIRRORD_LS_TEST_SEVERITY') or 'ERROR'),
        'severity=' .. tostring(found.severity))
      out('  ' .. name .. ' diagnostic: ' .. found.message)
    end

    -- The mirrord/status notification reached the statusline helper.
    local wanted = {}
    for piece in (os.getenv('MIRRORD_LS_TEST_STATUS') or ''):gmatch('[^,]+') do
      table.insert(wanted, piece)
    end
    local function status_ok()
      local line = mirrord.statusline()
      if line:sub(1, 8) ~= 'mirrord:' then
        return false
      end
      for _, piece in ipairs(wanted) do
        if not line:find(piece, 1, true) then
          return false
        end
      end
      return true
    end
    vim.wait(timeout, status_ok, 50)
    check(status_ok(), 'statusline shows ' .. (#wanted > 0 and table.concat(wanted, ' + ') or 'a status'),
      'statusline=' .. mirrord.statusline())
    out('  ' .. name .. ' statusline: ' .. mirrord.statusline())
    local status = mirrord.last_status or {}
    check(status.document == vim.uri_from_bufnr(bufnr), 'the status follows this document',
      'document=' .. tostring(status.document))

    -- :MirrordStatus and :MirrordRecheck (workspace/executeCommand).
    local shown
    mirrord.show_status(function(e, result)
      shown = { err = e, result = result }
    end)
    vim.wait(timeout, function()
      return shown ~= nil
    end, 50)
    check(shown and shown.err == nil and type(shown.result) == 'table' and shown.result.health ~= nil,
      'mirrord-ls.showStatus answers a status', shown and vim.inspect(shown.err) or 'no answer')
    local rechecked
    mirrord.recheck(function(e, result)
      rechecked = { err = e, result = result }
    end)
    vim.wait(timeout, function()
      return rechecked ~= nil
    end, 50)
    check(rechecked and rechecked.err == nil and type(rechecked.result) == 'table',
      'mirrord-ls.recheck answers', rechecked and vim.inspect(rechecked.err) or 'no answer')
    check(vim.fn.exists(':MirrordRecheck') == 2 and vim.fn.exists(':MirrordStatus') == 2,
      ':MirrordRecheck and :MirrordStatus exist')
  end)
  if not ok then
    check(false, 'the test ran without a Lua error', tostring(err))
  end
  finish()
end
