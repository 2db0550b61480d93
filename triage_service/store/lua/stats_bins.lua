-- Read-only: duration percentiles and threshold counts over a window, from the sorted sets
-- of whole-second bins (`stats:{kind}:{w}s:{s // w}` for w = 4096, 256, 16 and 1, members
-- `{second}:{request id}` scored by creation time; `observe` in _counters.lua). Included
-- by stats.lua, whose tallies `t` give the window (`t.from_ms`,
-- `t.to_ms` with its '(') and the count of its values per 4096 s bin (`t.top[kind]`).
-- A percentile is nearest-rank: the smallest value v such that at least ceil(p * n / 100) of
-- the n values are <= v. From its 4096 s bin down, the window's values in each of a bin's 16
-- children are counted (ZCOUNT), from whichever end is nearer the rank, until a bin holds
-- at most FEW of them, which are then read whole: some dozens of calls a percentile,
-- whatever the number of values stored or in the window.
local FEW = 16
-- A board's durations are in their own sets (`stats:{kind}@{board}:...`); stats.lua sets it.
local BIN_SUFFIX = ''

-- Read the bins of one board's durations from now on (`board`: its id).
local function bins_of_board(board)
  BIN_SUFFIX = '@' .. board
end

local function bin_name(kind, width, bin)
  return kind .. BIN_SUFFIX .. ':' .. width .. 's:' .. bin
end

-- How many of the window's values of `kind` fall in bin `bin` of `width` seconds.
local function in_bin(t, kind, width, bin)
  local name = bin_name(kind, width, bin)
  if not t.found[name] then
    t.found[name] = redis.call('ZCOUNT', K.stats(name), t.from_ms, t.to_ms)
  end
  return t.found[name]
end

-- The window's values of `kind` in a bin, in whole seconds, sorted.
local function values_in(t, kind, width, bin)
  local name = bin_name(kind, width, bin)
  if not t.values[name] then
    local values = {}
    for i, member in ipairs(redis.call('ZRANGEBYSCORE', K.stats(name), t.from_ms,
                                       t.to_ms)) do
      values[i] = tonumber(member:match('^(-?%d+):'))
    end
    table.sort(values)
    t.values[name] = values
  end
  return t.values[name]
end

-- The child of bin `node` (`width` s wide, `count` of the window's values) that holds the
-- value of rank `rank` in it: that child, its count and the rank within it.
local function child_of_rank(t, kind, width, node, count, rank)
  local w, first = width / 16, node * 16
  if rank <= count / 2 then
    local below = 0
    for child = first, first + 14 do
      local n = in_bin(t, kind, w, child)
      if below + n >= rank then return child, n, rank - below end
      below = below + n
    end
    return first + 15, count - below, rank - below
  end
  local above = 0
  for child = first + 15, first + 1, -1 do
    local n = in_bin(t, kind, w, child)
    local below = count - above - n
    if below < rank then return child, n, rank - below end
    above = above + n
  end
  return first, count - above, rank
end

-- The value of rank `rank` among the `count` values of bin `node` (`width` s wide).
local function rank_in(t, kind, width, node, count, rank)
  while width > 1 do
    if count <= FEW then return values_in(t, kind, width, node)[rank] end
    node, count, rank = child_of_rank(t, kind, width, node, count, rank)
    width = width / 16
  end
  return node
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- The smallest whole-second value with at least `rank` of the window's values at or below.
local function nth(t, kind, rank)
  local seen, top = 0, t.top[kind]
  for _, bin in ipairs(sorted_keys(top)) do
    if seen + top[bin] >= rank then return rank_in(t, kind, 4096, bin, top[bin], rank - seen) end
    seen = seen + top[bin]
  end
  return cjson.null
end

-- How many values of `kind` the window has (`n`) and the requested percentiles (`p{N}`).
local function durations(t, kind, percentiles)
  local total = 0
  for _, n in pairs(t.top[kind]) do total = total + n end
  local out = {n = total}
  if total == 0 then return out end
  for _, p in ipairs(percentiles) do
    out['p' .. p] = nth(t, kind, math.floor((p * total + 99) / 100))
  end
  return out
end

-- Of bin `node`'s `count` values, how many lie in its children before `child`, and in it.
local function split_at(t, kind, width, node, count, child)
  local w, first = width / 16, node * 16
  if child - first <= 7 then
    local below = 0
    for c = first, child - 1 do below = below + in_bin(t, kind, w, c) end
    return below, in_bin(t, kind, w, child)
  end
  local above = 0
  for c = first + 15, child + 1, -1 do above = above + in_bin(t, kind, w, c) end
  local n = in_bin(t, kind, w, child)
  return count - above - n, n
end

-- How many of the `count` values of bin `node` (`width` s wide) are at most `limit`.
local function upto_in(t, kind, width, node, count, limit)
  local n = 0
  while width > 1 and count > 0 do
    if count <= FEW then
      for _, v in ipairs(values_in(t, kind, width, node)) do
        if v <= limit then n = n + 1 end
      end
      return n
    end
    local child = math.floor(limit / (width / 16))
    local below, in_child = split_at(t, kind, width, node, count, child)
    n, node, width, count = n + below, child, width / 16, in_child
  end
  return n + count
end

-- The service level and wait percentiles of tally `t` of `span`, when it is one whole hour,
-- from the set of that hour's waits by value (`stats:wait:hs:{hour}`, lua/_counters.lua):
-- one call each instead of walks down the bins. Nil for any other span, or when the set
-- does not hold the tally's waits (an hour not indexed yet), for the walks.
local function hour_waits(t, span, limit, percentiles)
  local HOUR_MS = 3600000
  if span[1] % HOUR_MS ~= 0 or span[2] - span[1] ~= HOUR_MS then return nil end
  local n = 0
  for _, count in pairs(t.top.wait) do n = n + count end
  local key = K.stats('wait' .. BIN_SUFFIX .. ':hs:' .. math.floor(span[1] / HOUR_MS))
  if redis.call('ZCARD', key) ~= n then return nil end
  local out = {n = n}
  if n == 0 then return 0, out end
  for _, p in ipairs(percentiles) do
    local rank = math.floor((p * n + 99) / 100)
    out['p' .. p] = tonumber(redis.call('ZRANGE', key, rank - 1, rank - 1, 'WITHSCORES')[2])
  end
  return redis.call('ZCOUNT', key, '-inf', limit), out
end

-- How many of the window's waits were at most `limit` (whole seconds).
local function within(t, limit)
  local n, node = 0, math.floor(limit / 4096)
  for bin, count in pairs(t.top.wait) do if bin < node then n = n + count end end
  return n + upto_in(t, 'wait', 4096, node, t.top.wait[node] or 0, limit)
end
