-- Read-only: the statistics of one window and of each point of its series, in one atomic
-- read (so the figures agree with each other). Prepended with _common.lua.
-- ARGV: prefix, now, spec (JSON):
--   {"blocks": [[level, index], ...]   blocks of whole hours (`stats_key` in _common.lua),
--    "slices": [[index, sign], ...]     5-minute slices, added (1) or taken away (-1),
--    "edges": [[from_ms, to_ms, sign], ...]   the rest, read from the requests themselves,
--    "short_abandon_ms": n, "threshold_s": n,
--    "percentiles": {"wait": [50, 90, 100], ...} (100 is the maximum),
--    "heat_map": bool (also read requests by area and hour of week),
--    "series": [{"blocks": [...], "slices": [...], "edges": [...]}, ...]}
-- (stats_window.plan_span says which of these cover a window.)
-- A duration percentile is nearest-rank over whole seconds: the smallest value v such that
-- at least ceil(p * n / 100) of the n values are <= v. It is found from the 4096 s bins, then
-- the 16 children of one bin at a time (256 s, 16 s, 1 s), reading only blocks that have
-- values in that bin: the cost depends on the number of blocks, not of values.
local spec = cjson.decode(ARGV[3])
local call, tonumber, floor = redis.call, tonumber, math.floor
local KINDS = {'wait', 'assess', 'police'}
local WIDTHS = {[0] = 1, [1] = 16, [2] = 256, [3] = 4096}
local RAW = {'status', 'priority', 'area', 'mode', 'first_wait_ms', 'created_ms',
             'accepted_ms', 'completed_ms', 'disposition', 'triage_code', 'conveyance',
             'officer_released_ms', 'referral_id', 'notice_id', 'age_band', 'sex'}
local loaded, children = {}, {}

local function add(t, k, n) t[k] = (t[k] or 0) + (n or 1) end

-- Slices and raw records are added, or taken away from a whole hour's block (sign -1).
local sign = 1
local function bump(t, k, n) t[k] = (t[k] or 0) + (n or 1) * sign end

local function block_key(kind, level, index)
  if level == 0 then return key('stats:' .. kind .. ':' .. index) end
  return key('stats:' .. kind .. ':L' .. level .. ':' .. index)
end

local function new_tally(kinds, with_heat)
  local t = {counts = {}, heat = {}, kinds = kinds, with_heat = with_heat, top = {},
             raw = {}, blocks = {}, merged = {}, sorted = {}}
  for _, kind in ipairs(kinds) do
    t.top[kind], t.blocks[kind], t.merged[kind] = {}, {}, {}
    t.raw[kind] = {[1] = {}, [16] = {}, [256] = {}}  -- raw values by width of bin
  end
  return t
end

-- The duration kind and 4096 s bin of a counter field such as `wait_b:0`, if it is one.
local function top_bin(field)
  if not field:find('_b:', 1, true) then return nil end
  local kind, bin = field:match('^(%a+)_b:(-?%d+)$')
  return kind, tonumber(bin)
end

-- Adds one stored block: its counters and 4096 s bins (and its heat map when asked).
local function add_block(t, level, index)
  local c, flat, tops = t.counts, call('HGETALL', block_key('h', level, index)), {}
  for i = 1, #flat, 2 do
    local field, n = flat[i], tonumber(flat[i + 1])
    add(c, field, n)
    local kind, bin = top_bin(field)
    if kind and t.top[kind] then
      add(t.top[kind], bin, n)
      tops[kind] = tops[kind] or {}
      tops[kind][bin] = n
    end
  end
  if t.with_heat then
    local cells = call('HGETALL', block_key('hw', level, index))
    for i = 1, #cells, 2 do add(t.heat, cells[i], tonumber(cells[i + 1])) end
  end
  for kind, top in pairs(tops) do
    local holders = t.blocks[kind]
    holders[#holders + 1] = {key = block_key(kind, level, index), top = top, memo = {}}
  end
end

local function observe_raw(t, kind, ms)
  bump(t.counts, kind .. '_sum_ms', floor(ms))
  local raw = t.raw[kind]
  if not raw then return end
  local s = floor(ms / 1000 + 0.5)
  bump(raw[1], s)
  bump(raw[16], floor(s / 16))
  bump(raw[256], floor(s / 256))
  bump(t.top[kind], floor(s / 4096))
end

local function referral_done(c, id, counter)
  if not id then return end
  local r = call('HMGET', key('referral:' .. id), 'status', 'due_ms', 'updated_ms')
  if r[1] ~= 'completed' then return end
  bump(c, counter .. '_completed')
  if tonumber(r[3]) <= tonumber(r[2]) then bump(c, counter .. '_on_time') end
end

-- What the outcome script counted for a completed request, recomputed from its record.
local function add_completed(t, r)
  local c, disposition = t.counts, r.disposition
  bump(c, 'completed')
  bump(c, 'disp:' .. disposition)
  bump(c, 'code:' .. r.triage_code)
  bump(c, 'conv:' .. r.conveyance)
  if disposition ~= 'emergency_department' and disposition ~= 'not_completed'
     and r.conveyance ~= 'ambulance' then
    bump(c, 'conveyance_avoided')
  end
  observe_raw(t, 'assess', tonumber(r.completed_ms) - tonumber(r.accepted_ms))
  observe_raw(t, 'police', tonumber(r.officer_released_ms) - tonumber(r.created_ms))
  if r.referral_id then bump(c, 'referrals') end
  if r.notice_id then bump(c, 's297') end
  referral_done(c, r.referral_id, 'ref')
  referral_done(c, r.notice_id, 'mwc')
end

local function load(id)
  if loaded[id] then return loaded[id] end
  local values = call('HMGET', key('req:' .. id), unpack(RAW))
  local r = {}
  for i, name in ipairs(RAW) do if values[i] and values[i] ~= '' then r[name] = values[i] end end
  if r.status and not r.age_band then  -- a record from before age and sex were kept apart
    local form = call('HGET', key('req:' .. id), 'form')
    local subject = form and cjson.decode(form).subject or {}
    r.age_band = type(subject.age_band) == 'string' and subject.age_band or 'unknown'
    r.sex = type(subject.sex) == 'string' and subject.sex or 'unknown'
  end
  r.area = r.area or ''
  loaded[id] = r
  return r
end

-- What the lifecycle scripts counted for one request, recomputed from its record.
local function add_record(t, r)
  local c, created = t.counts, tonumber(r.created_ms)
  local how = (floor(created / 3600000) + 72) % 168
  bump(c, 'requests')
  bump(c, 'prio:' .. r.priority)
  bump(c, 'area:' .. r.area)
  bump(c, 'mode:' .. r.mode)
  bump(c, 'age:' .. r.age_band)
  bump(c, 'sex:' .. r.sex)
  bump(c, 'how:' .. how)
  if t.with_heat then bump(t.heat, how .. ':' .. r.area) end
  if r.first_wait_ms then
    bump(c, 'accepted')
    observe_raw(t, 'wait', tonumber(r.first_wait_ms))
  end
  if r.status == 'cancelled' then
    bump(c, 'cancelled')
    if not r.first_wait_ms and tonumber(r.completed_ms) - created >= spec.short_abandon_ms then
      bump(c, 'abandoned')
    end
  elseif r.status == 'expired' then
    bump(c, 'expired')
  elseif r.status == 'completed' then
    add_completed(t, r)
  end
end

local function add_raw(t, from_ms, to_ms, with_sign)
  sign = with_sign
  for _, id in ipairs(call('ZRANGEBYSCORE', key('reqs:created'), from_ms, '(' .. to_ms)) do
    local r = load(id)
    if r.status then add_record(t, r) end
  end
  sign = 1
end

-- A 5-minute slice: its counters, bins and (as if they were raw records) its seconds.
local function add_slice(t, index, with_sign)
  sign = with_sign
  local flat = call('HGETALL', key('stats:h:S:' .. index))
  for i = 1, #flat, 2 do
    local field, n = flat[i], tonumber(flat[i + 1])
    bump(t.counts, field, n)
    local kind, bin = top_bin(field)
    if kind and t.top[kind] then bump(t.top[kind], bin, n) end
  end
  if t.with_heat then
    local cells = call('HGETALL', key('stats:hw:S:' .. index))
    for i = 1, #cells, 2 do bump(t.heat, cells[i], tonumber(cells[i + 1])) end
  end
  for _, kind in ipairs(t.kinds) do
    local raw, values = t.raw[kind], call('HGETALL', key('stats:' .. kind .. ':S:' .. index))
    for i = 1, #values, 2 do
      local s, n = tonumber(values[i]), tonumber(values[i + 1])
      bump(raw[1], s, n)
      bump(raw[16], floor(s / 16), n)
      bump(raw[256], floor(s / 256), n)
    end
  end
  sign = 1
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- The field names of the 16 children of `node` at `level` (its children are at level - 1).
local function child_names(level, node)
  local cached = node * 4 + level
  if not children[cached] then
    local names, prefix = {}, level == 1 and '' or (level - 1) .. ':'
    for i = 0, 15 do names[#names + 1] = prefix .. (node * 16 + i) end
    children[cached] = names
  end
  return children[cached]
end

-- Per block (that has values under `node`), its fields for `node`'s 16 children: a count
-- or false (a field is only ever written by adding 1, so one that exists is positive).
local function block_children(block, level, node)
  local memo = node * 4 + level
  local values = block.memo[memo]
  if not values then
    values = call('HMGET', block.key, unpack(child_names(level, node)))
    block.memo[memo] = values
  end
  return values
end

-- Merged counts of the 16 children of `node`, remembered for the other percentiles.
local function merged_children(t, kind, holders, level, node)
  local memo = node * 4 + level
  local counts = t.merged[kind][memo]
  if counts then return counts end
  counts = {}
  local raw, base = t.raw[kind][WIDTHS[level - 1]], node * 16 - 1
  for i = 1, 16 do counts[i] = raw[base + i] or 0 end
  for _, block in ipairs(holders) do
    local values = block_children(block, level, node)
    for i = 1, 16 do
      local v = values[i]
      if v then counts[i] = counts[i] + tonumber(v) end
    end
  end
  t.merged[kind][memo] = counts
  return counts
end

-- The blocks among `holders` with values in child `i` of `node`.
local function holding(holders, level, node, i)
  local found = {}
  for _, block in ipairs(holders) do
    if block_children(block, level, node)[i] then found[#found + 1] = block end
  end
  return found
end

local function holders_of(t, kind, bin)
  local holders = {}
  for _, block in ipairs(t.blocks[kind]) do
    if block.top[bin] then holders[#holders + 1] = block end
  end
  return holders
end

-- The smallest whole-second value with at least `rank` values at or below it.
local function nth(t, kind, rank)
  local seen = 0
  t.sorted[kind] = t.sorted[kind] or sorted_keys(t.top[kind])
  for _, bin in ipairs(t.sorted[kind]) do
    local n = t.top[kind][bin]
    if seen + n >= rank then
      local node, holders = bin, holders_of(t, kind, bin)
      for level = 3, 1, -1 do
        local counts = merged_children(t, kind, holders, level, node)
        for i = 1, 16 do
          if seen + counts[i] >= rank then
            if level > 1 then holders = holding(holders, level, node, i) end
            node = node * 16 + i - 1
            break
          end
          seen = seen + counts[i]
        end
      end
      return node
    end
    seen = seen + n
  end
  return cjson.null
end

local function durations(t, kind, percentiles)
  local total = 0
  for _, n in pairs(t.top[kind]) do total = total + n end
  local out = {n = total}
  if total == 0 then return out end
  for _, p in ipairs(percentiles) do
    out['p' .. p] = nth(t, kind, floor((p * total + 99) / 100))
  end
  return out
end

-- How many waits were at most the service-level threshold `limit`.
local function within(t, limit)
  local n, edge = 0, floor(limit / 4096)
  for bin, count in pairs(t.top.wait) do if bin < edge then n = n + count end end
  if not t.top.wait[edge] then return n end
  local node, holders = edge, holders_of(t, 'wait', edge)
  for level = 3, 1, -1 do
    local counts = merged_children(t, 'wait', holders, level, node)
    local target = floor(limit / WIDTHS[level - 1]) - node * 16 + 1
    for i = 1, target - 1 do n = n + counts[i] end
    if level == 1 then return n + counts[target] end
    holders = holding(holders, level, node, target)
    node = node * 16 + target - 1
  end
  return n
end

local function tally_of(part, kinds, with_heat)
  local t = new_tally(kinds, with_heat)
  for _, b in ipairs(part.blocks) do add_block(t, b[1], b[2]) end
  for _, slice in ipairs(part.slices) do add_slice(t, slice[1], slice[2]) end
  for _, edge in ipairs(part.edges) do add_raw(t, edge[1], edge[2], edge[3]) end
  return t
end

local main = tally_of(spec, KINDS, spec.heat_map)
local result = {counts = main.counts, heat = main.heat, within = within(main, spec.threshold_s),
                durations = {}, series = {}}
for _, kind in ipairs(KINDS) do
  result.durations[kind] = durations(main, kind, spec.percentiles[kind])
end
local POINT_FIELDS = {'requests', 'accepted', 'wait_sum_ms'}
for i, part in ipairs(spec.series) do
  local t = tally_of(part, {'wait'}, false)
  local point = {within = within(t, spec.threshold_s), wait = durations(t, 'wait', {50, 90})}
  for _, name in ipairs(POINT_FIELDS) do point[name] = t.counts[name] or 0 end
  result.series[i] = point
end
return cjson.encode(result)
