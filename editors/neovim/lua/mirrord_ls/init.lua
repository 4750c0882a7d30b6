-- mirrord-ls for Neovim (0.7+): starts the mirrord config language server on
-- mirrord config files, shows its `mirrord/status` in the statusline and adds
-- :MirrordRecheck and :MirrordStatus.
--
--   require('mirrord_ls').setup({
--     cmd = { 'mirrord-ls', 'serve' },        -- how to start the server
--     settings = { cluster = { enabled = true } }, -- the `mirrordLs` settings object
--   })
--   vim.o.statusline = [[%f %= %{luaeval("require'mirrord_ls'.statusline()")}]]
--
-- Config files keep their json/toml/yaml filetype; this plugin recognises them
-- by path (`.mirrord/*.EXT`, `*mirrord.EXT`, `*.mirrord/*.EXT`, EXT one of
-- json, toml, yaml, yml) and marks them with `b:mirrord_config = 1`.

local M = {}

local uv = vim.loop
local NAME = 'mirrord_ls'
local EXTENSIONS = { json = 'json', toml = 'toml', yaml = 'yaml', yml = 'yaml' }
local ICONS = { ok = '✓', warning = '⚠', error = '✗' }

M.config = {
  cmd = { 'mirrord-ls', 'serve' },
  settings = nil, -- the `mirrordLs` object: { schema = '', cluster = { enabled = true, ... }, ... }
  init_options = nil, -- extra initializationOptions (e.g. { workspaceTrusted = true })
  root_markers = { '.mirrord', '.git' },
  on_attach = nil, -- function(client, bufnr)
  capabilities = nil, -- base client capabilities (default: vim.lsp.protocol.make_client_capabilities())
}

-- The latest `mirrord/status` of each client, and which clients are initialized.
M.statuses = {}
M.last_status = nil
local initialized = {}
local clients_by_root = {} -- 0.7 fallback: root dir -> client id

--- Is `path` a mirrord config file? (the patterns mirrord-ls serves)
function M.is_config(path)
  if not path or path == '' then
    return false
  end
  path = path:gsub('\\', '/')
  local name = path:match('([^/]+)$') or path
  local ext = name:match('%.([^.]+)$')
  if not ext or not EXTENSIONS[ext:lower()] then
    return false
  end
  -- **/*mirrord.EXT (mirrord.json, staging.mirrord.yaml, ...)
  local stem = name:sub(1, #name - #ext - 1)
  if stem:sub(-7) == 'mirrord' then
    return true
  end
  -- **/.mirrord/*.EXT and **/*.mirrord/*.EXT: the parent folder's name ends with `.mirrord`
  local parent = path:match('([^/]+)/[^/]+$')
  return parent ~= nil and parent:sub(-8) == '.mirrord'
end

local function buf_path(bufnr)
  return vim.api.nvim_buf_get_name(bufnr)
end

local function is_config_buf(bufnr)
  return vim.api.nvim_buf_is_valid(bufnr) and vim.b[bufnr].mirrord_config == 1
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

--- The nearest folder above `path` holding one of the root markers, else the file's folder.
function M.root_dir(path)
  local start = vim.fn.fnamemodify(path, ':p:h')
  local dir = start
  while dir and dir ~= '' do
    for _, marker in ipairs(M.config.root_markers) do
      if exists(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return start
end

local function is_ours(client)
  return client and client.name == NAME
end

local function list_clients(bufnr)
  if vim.lsp.get_clients then -- 0.10+
    return vim.lsp.get_clients(bufnr and { bufnr = bufnr } or nil)
  end
  return bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
end

-- 0.11 made client methods take `self` (client:notify); 0.7-0.10 use client.notify.
local NEW_METHODS = vim.fn.has('nvim-0.11') == 1
local function client_notify(client, method, params)
  if NEW_METHODS then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end
local function client_request(client, method, params, handler, bufnr)
  if NEW_METHODS then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function our_clients(bufnr)
  local out = {}
  local all = list_clients(bufnr)
  for _, client in pairs(all) do
    if is_ours(client) then
      table.insert(out, client)
    end
  end
  return out
end

local function redraw()
  pcall(vim.cmd, 'redrawstatus!')
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'MirrordStatus', modeline = false })
end

local function set_status(client_id, status)
  if type(status) ~= 'table' then
    return
  end
  M.statuses[client_id] = status
  M.last_status = status
  redraw()
end

local function on_status(err, result, ctx)
  if err == nil and ctx then
    set_status(ctx.client_id, result)
  end
end

local function notify_active(client, bufnr)
  if not initialized[client.id] then
    return
  end
  local uri = vim.NIL
  if bufnr and is_config_buf(bufnr) then
    uri = vim.uri_from_bufnr(bufnr)
  end
  client_notify(client, 'mirrord/activeDocument', { uri = uri })
end

--- The short status of the current buffer's server, for the statusline:
--- `mirrord: ⚠ operator forbidden (staging)`, `mirrord: …` while checking,
--- '' when no mirrord-ls status has arrived yet.
function M.statusline()
  local status
  for _, client in ipairs(our_clients(vim.api.nvim_get_current_buf())) do
    status = M.statuses[client.id] or status
  end
  status = status or M.last_status
  if type(status) ~= 'table' then
    return ''
  end
  local icon = status.busy and '…' or (ICONS[status.health] or '?')
  local text = 'mirrord: ' .. icon
  local what = status.operator
  if type(what) ~= 'string' then
    what = status.message
  end
  if type(what) == 'string' and what ~= '' then
    text = text .. ' ' .. what
  end
  if type(status.context) == 'string' then
    text = text .. ' (' .. status.context .. ')'
  end
  return text
end

local function make_config(root)
  local capabilities = M.config.capabilities or vim.lsp.protocol.make_client_capabilities()
  capabilities = vim.deepcopy(capabilities)
  capabilities.experimental = capabilities.experimental or {}
  capabilities.experimental.mirrordStatus = true
  -- Have the server push diagnostics (textDocument/publishDiagnostics), as it does for
  -- every client that does not pull: cluster verdicts arrive after the first check, and
  -- a pulling client only hears of them through workspace/diagnostic/refresh, which not
  -- every Neovim announces (0.10+ pull; 0.7-0.9 never do).
  -- (vim.NIL, not nil: 0.11+ deep-merges these capabilities over its defaults.)
  capabilities.textDocument = capabilities.textDocument or {}
  capabilities.textDocument.diagnostic = vim.NIL

  local settings = M.config.settings
  local init_options = vim.deepcopy(M.config.init_options or {})
  if settings ~= nil and next(settings) ~= nil then
    init_options.settings = settings -- for clients without workspace/configuration (0.7)
  end
  if next(init_options) == nil then
    init_options = vim.empty_dict()
  end

  return {
    name = NAME,
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    capabilities = capabilities,
    settings = (settings and next(settings) ~= nil) and { mirrordLs = settings } or vim.empty_dict(),
    init_options = init_options,
    handlers = { ['mirrord/status'] = on_status },
    on_init = function(client)
      initialized[client.id] = true
      notify_active(client, vim.api.nvim_get_current_buf())
    end,
    on_exit = function(_, _, client_id)
      initialized[client_id] = nil
      M.statuses[client_id] = nil
      for r, id in pairs(clients_by_root) do
        if id == client_id then
          clients_by_root[r] = nil
        end
      end
      vim.schedule(redraw)
    end,
    on_attach = M.config.on_attach,
  }
end

--- Start (or reuse) the server for `bufnr` and attach it.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return nil
  end
  local root = M.root_dir(buf_path(bufnr))
  local config = make_config(root)
  if vim.lsp.start then -- Neovim 0.8+: reuses a client with the same name and root_dir
    local client_id
    -- 0.8's vim.lsp.start attaches the current buffer: make `bufnr` current for the call.
    vim.api.nvim_buf_call(bufnr, function()
      client_id = vim.lsp.start(config, { bufnr = bufnr })
    end)
    return client_id
  end
  -- Neovim 0.7
  local client_id = clients_by_root[root]
  if not client_id or not vim.lsp.get_client_by_id(client_id) then
    client_id = vim.lsp.start_client(config)
    if not client_id then
      return nil
    end
    clients_by_root[root] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
  return client_id
end

local function on_buf_read(args)
  local bufnr = args.buf
  if not M.is_config(buf_path(bufnr)) then
    return
  end
  vim.b[bufnr].mirrord_config = 1
  -- Keep (or give) the json/toml/yaml filetype; attach once the filetype is set.
  vim.schedule(function()
    if not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    if vim.bo[bufnr].filetype == '' then
      local ext = buf_path(bufnr):match('%.([^.]+)$')
      vim.bo[bufnr].filetype = EXTENSIONS[(ext or ''):lower()] or ''
    end
    M.attach(bufnr)
  end)
end

local function on_buf_enter(args)
  for _, client in ipairs(our_clients()) do
    notify_active(client, args.buf)
  end
  if is_config_buf(args.buf) then
    redraw()
  end
end

local function execute(command, arguments, callback)
  local bufnr = vim.api.nvim_get_current_buf()
  local clients = our_clients(bufnr)
  if #clients == 0 then
    clients = our_clients()
  end
  if #clients == 0 then
    vim.notify('mirrord-ls is not running', vim.log.levels.WARN)
    return false
  end
  for _, client in ipairs(clients) do
    client_request(client, 'workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
      if err then
        vim.notify('mirrord-ls: ' .. command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      else
        set_status(client.id, result)
      end
      if callback then
        callback(err, result, client)
      end
    end, bufnr)
  end
  return true
end

--- Re-check the cluster of the current config (or of every open config).
function M.recheck(callback)
  local bufnr = vim.api.nvim_get_current_buf()
  local arguments = is_config_buf(bufnr) and { { uri = vim.uri_from_bufnr(bufnr) } } or nil
  return execute('mirrord-ls.recheck', arguments, callback or function(err, result)
    if not err then
      vim.notify('mirrord-ls re-checked: ' .. M.statusline())
    end
  end)
end

--- Ask the server for its status and show it (the tooltip's markdown).
function M.show_status(callback)
  return execute('mirrord-ls.showStatus', nil, callback or function(err, result)
    if not err and type(result) == 'table' then
      vim.notify(type(result.tooltip) == 'string' and result.tooltip or vim.inspect(result))
    end
  end)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', M.config, opts or {})
  if opts and opts.cmd then
    M.config.cmd = opts.cmd -- lists are replaced, not merged
  end
  local group = vim.api.nvim_create_augroup('mirrord_ls', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
    group = group,
    pattern = { '*.json', '*.toml', '*.yaml', '*.yml' },
    callback = on_buf_read,
  })
  vim.api.nvim_create_autocmd('BufEnter', { group = group, callback = on_buf_enter })
  vim.api.nvim_create_user_command('MirrordRecheck', function()
    M.recheck()
  end, { desc = 'mirrord-ls: re-check the cluster now' })
  vim.api.nvim_create_user_command('MirrordStatus', function()
    M.show_status()
  end, { desc = 'mirrord-ls: show the status of the active config' })
  -- Buffers loaded before setup() (e.g. `nvim .mirrord/mirrord.json` with a lazy plugin manager).
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and M.is_config(buf_path(bufnr)) and not is_config_buf(bufnr) then
      on_buf_read({ buf = bufnr })
    end
  end
end

return M
