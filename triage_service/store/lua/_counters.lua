-- Statistics counters: one hash per hour of request creation (`stats:h:{hour}`; the
-- heat map's area by hour-of-week cells in `stats:hw:{hour}`), so a window's figures never
-- need a scan of every record. Each hour is also added into the aligned blocks of 2, 4, ...
-- 2^10 hours that contain it (`stats:h:L{level}:{hour >> level}`), so any window reads at
-- most two blocks per level, and each request into its 5-minute slice
-- (`stats:h:S:{created_ms // 300000}`) and its minute (`stats:h:M:{created_ms // 60000}`)
-- for the partial hours at a window's edges.
-- A duration counts its sum and its 4096 s bin (`{kind}_b:{s // 4096}`) there; its whole
-- second `s` also goes, as `{s}:{request id}` scored by the request's creation time, into
-- the sorted sets of its 4096 s, 256 s and 16 s bins and its second
-- (`stats:{kind}:{w}s:{s // w}`), so a percentile counts a window's values in any bin with
-- one ZCOUNT, 16 bins at a time down to the second (lua/stats_bins.lua), whatever the number
-- of values or the window's length. A wait's second also goes, scored by itself, into the
-- set of its hour of creation (`stats:wait:hs:{hour}`, members the request ids), so a whole
-- hour's percentiles and service level are one call each (the hourly series).
local STATS_LEVELS = 10

local function bucket(created_ms) return math.floor(tonumber(created_ms) / 3600000) end

local function stats_key(kind, h, level)
  if level == 0 then return K.stats(kind .. ':' .. h) end
  return K.stats(kind .. ':L' .. level .. ':' .. math.floor(h / 2 ^ level))
end

local stats_keys_seen = {}

-- The keys of every block holding a request created at `created_ms`, then its slice's and
-- its minute's.
local function stats_keys(kind, created_ms)
  local name = kind .. ':' .. created_ms
  local keys = stats_keys_seen[name]
  if not keys then
    local h = bucket(created_ms)
    keys = {}
    for level = 0, STATS_LEVELS do keys[level + 1] = stats_key(kind, h, level) end
    keys[#keys + 1] = K.stats(kind .. ':S:' .. math.floor(tonumber(created_ms) / 300000))
    keys[#keys + 1] = K.stats(kind .. ':M:' .. math.floor(tonumber(created_ms) / 60000))
    stats_keys_seen[name] = keys
  end
  return keys
end

-- Adds `n` to `field` in every block, slice and minute holding `created_ms`.
local function add_all_levels(kind, created_ms, field, n)
  for _, name in ipairs(stats_keys(kind, created_ms)) do redis.call('HINCRBY', name, field, n) end
end

-- The health board of the request being counted: every counter is also added as
-- `b:{board}:{field}` (and every duration into `stats:{kind}@{board}:...`), so a board's
-- figures never need a scan. Scripts set it with `counting(id)` before they count.
local BOARD = ''

local function counting(id)
  BOARD = redis.call('HGET', K.request(id), 'board') or ''
end

-- The same for a request whose board is known before its record is written (lua/create.lua).
local function counting_board(board)
  BOARD = board or ''
end

local function count(created_ms, field, n)
  add_all_levels('h', created_ms, field, n or 1)
  if BOARD ~= '' then add_all_levels('h', created_ms, 'b:' .. BOARD .. ':' .. field, n or 1) end
end

local HISTOGRAM_WIDTHS = {4096, 256, 16, 1}

-- Counts the duration `ms` of request `id` (created at `created_ms`) for statistics.
local function observe(kind, id, created_ms, ms)
  local s = math.floor(ms / 1000 + 0.5)
  local sets = {kind}
  if BOARD ~= '' then sets[2] = kind .. '@' .. BOARD end
  for _, name in ipairs(sets) do
    for _, width in ipairs(HISTOGRAM_WIDTHS) do
      redis.call('ZADD', K.stats(name .. ':' .. width .. 's:' .. math.floor(s / width)),
                 created_ms, s .. ':' .. id)
    end
    if kind == 'wait' then redis.call('ZADD', K.stats(name .. ':hs:' .. bucket(created_ms)), s, id) end
  end
  count(created_ms, kind .. '_b:' .. math.floor(s / 4096))
  count(created_ms, kind .. '_sum_ms', math.floor(ms))
  redis.call('SADD', K.stats_hours, bucket(created_ms))
end

-- Keeps the last 50 values of a duration (in list `list_key`) for the wait estimate.
local function remember(list_key, ms)
  redis.call('LPUSH', list_key, math.floor(ms))
  redis.call('LTRIM', list_key, 0, 49)
end
