-- include: _outcome_counts stats_bins
-- Read-only: the statistics of one window and of each point of its series, in one atomic
-- read (so the figures agree with each other). Includes
-- stats_bins.lua (durations: percentiles and the service level).
-- ARGV: prefix, now, spec (JSON):
--   {"span": [from_ms, to_ms],         the window (requests created from, inclusive, to)
--    "blocks": [[level, index], ...]   blocks of whole hours (`stats_key` in _counters.lua),
--    "slices": [[index, sign], ...]   5-minute slices, added (1) or taken away (-1),
--    "minutes": [[index, sign], ...]  minutes, likewise,
--    "edges": [[from_ms, to_ms, sign], ...]   the rest, read from the requests themselves,
--    "short_abandon_ms": n, "threshold_s": n,
--    "percentiles": {"wait": [50, 90, 100], ...} (100 is the maximum),
--    "heat_map": bool (also read requests by area and hour of week),
--    "series": [{"span": ..., "blocks": ..., "slices": ..., "minutes": ..., "edges": ...}],
--    "board": id (optional: that board's counters `b:{board}:...`, durations and records),
--    "segments": [{"span": ..., "blocks": ...}, ...] (optional: the window cut where the
--                local time zone's offset changes; each part's hour-of-week counters)}
-- (stats_window.plan_span says which blocks, slices, minutes and edges cover a window.)
local spec = cjson.decode(ARGV[3])
local BOARD_PREFIX = spec.board and ('b:' .. spec.board .. ':') or nil
if spec.board then bins_of_board(spec.board) end
local call, tonumber, floor = redis.call, tonumber, math.floor
local KINDS = {'wait', 'assess', 'police', 'refdone'}
local RAW = {'status', 'priority', 'area_id', 'board', 'mode', 'first_wait_ms', 'created_ms',
             'accepted_ms', 'completed_ms', 'disposition', 'triage_code', 'conveyance',
             'officer_released_ms', 'referral_id', 'notice_id', 'age_band', 'sex', 'overridden',
             'useful', 'time_saved_min', 'consent', 'repeat_30d', 'repeat_12m'}
local loaded = {}

-- Slices, minutes and raw records are added, or taken away from a whole hour's block (-1);
-- `bump` counts a raw record with the current `sign`.
local sign = 1
local function bump(t, k, n) t[k] = (t[k] or 0) + (n or 1) * sign end

-- `fields`: the only counters needed (all when nil).
local function new_tally(part, kinds, with_heat, fields)
  local t = {counts = {}, heat = {}, with_heat = with_heat, fields = fields, top = {},
             found = {}, values = {}, from_ms = part.span[1], to_ms = '(' .. part.span[2]}
  for _, kind in ipairs(kinds) do t.top[kind] = {} end
  return t
end

-- The duration kind and 4096 s bin of a counter field such as `wait_b:0`, if it is one.
local function top_bin(field)
  if not field:find('_b:', 1, true) then return nil end
  local kind, bin = field:match('^(%a+)_b:(-?%d+)$')
  return kind, tonumber(bin)
end

-- Adds the field, value pairs `flat` of this read's scope into `into`, times `with_sign`: a
-- board's (`b:{board}:` taken off), or the whole service's (no board's). One pass, no copy:
-- a 24-hour window sums some 400 fields.
local function add_scoped(into, flat, with_sign)
  local n = BOARD_PREFIX and #BOARD_PREFIX or 0
  for i = 1, #flat, 2 do
    local field, name = flat[i], nil
    if BOARD_PREFIX then
      if field:sub(1, n) == BOARD_PREFIX then name = field:sub(n + 1) end
    elseif field:byte(1) ~= 98 or field:byte(2) ~= 58 then  -- not `b:`
      name = field
    end
    if name then into[name] = (into[name] or 0) + tonumber(flat[i + 1]) * with_sign end
  end
end

-- Adds the counters `t.fields` of block, slice or minute `name` (read by name: a board's
-- carry its prefix) into `t.counts`, times `with_sign`.
local function add_fields(t, name, with_sign)
  local asked = t.fields
  if BOARD_PREFIX then
    asked = {}
    for i, field in ipairs(t.fields) do asked[i] = BOARD_PREFIX .. field end
  end
  local values, into = call('HMGET', K.stats('h:' .. name), unpack(asked)), t.counts
  for i, field in ipairs(t.fields) do
    if values[i] then into[field] = (into[field] or 0) + tonumber(values[i]) * with_sign end
  end
end

-- Adds the counters of one block, slice or minute (all, or `t.fields`), and its heat map
-- when asked.
local function add_counters(t, name, with_sign)
  if t.fields then
    add_fields(t, name, with_sign)
  else
    add_scoped(t.counts, call('HGETALL', K.stats('h:' .. name)), with_sign)
  end
  if t.with_heat then
    add_scoped(t.heat, call('HGETALL', K.stats('hw:' .. name)), with_sign)
  end
end

-- The count of the tally's values per 4096 s bin, by duration kind (`t.top`).
local function collect_top(t)
  for field, n in pairs(t.counts) do
    local kind, bin = top_bin(field)
    if kind and t.top[kind] then t.top[kind][bin] = n end
  end
end

local function block_name(level, index)
  if level == 0 then return tostring(index) end
  return 'L' .. level .. ':' .. index
end

local function observe_raw(t, kind, ms)
  bump(t.counts, kind .. '_sum_ms', floor(ms))
  bump(t.counts, kind .. '_b:' .. floor(floor(ms / 1000 + 0.5) / 4096))
end

local function referral_done(t, id, counter)
  if not id then return end
  local c = t.counts
  local r = call('HMGET', K.referral(id), 'status', 'due_ms', 'updated_ms', 'created_ms')
  if r[1] ~= 'completed' then return end
  bump(c, counter .. '_completed')
  if tonumber(r[3]) <= tonumber(r[2]) then bump(c, counter .. '_on_time') end
  if counter == 'ref' then observe_raw(t, 'refdone', tonumber(r[3]) - tonumber(r[4])) end
end

-- What the outcome script counted for a completed request, recomputed from its record.
local function add_completed(t, r)
  local c = t.counts
  for _, field in ipairs(outcome_fields(r)) do bump(c, field) end
  observe_raw(t, 'assess', tonumber(r.completed_ms) - tonumber(r.accepted_ms))
  observe_raw(t, 'police', tonumber(r.officer_released_ms) - tonumber(r.created_ms))
  if r.referral_id then bump(c, 'referrals') end
  if r.notice_id then bump(c, 's297') end
  referral_done(t, r.referral_id, 'ref')
  referral_done(t, r.notice_id, 'mwc')
  if r.useful then
    bump(c, 'feedback')
    bump(c, 'useful_sum', tonumber(r.useful))
  end
  if r.time_saved_min then
    bump(c, 'time_saved_n')
    bump(c, 'time_saved_sum', tonumber(r.time_saved_min))
  end
end

local function load(id)
  if loaded[id] then return loaded[id] end
  local values = call('HMGET', K.request(id), unpack(RAW))
  local r = {}
  for i, name in ipairs(RAW) do if values[i] and values[i] ~= '' then r[name] = values[i] end end
  if r.status and not r.age_band then  -- a record from before age and sex were kept apart
    local form = call('HGET', K.request(id), 'form')
    local subject = form and cjson.decode(form).subject or {}
    r.age_band = type(subject.age_band) == 'string' and subject.age_band or 'unknown'
    r.sex = type(subject.sex) == 'string' and subject.sex or 'unknown'
  end
  r.area_id = r.area_id or ''
  loaded[id] = r
  return r
end

-- What the lifecycle scripts counted for one request, recomputed from its record.
local function add_record(t, r)
  local c, created = t.counts, tonumber(r.created_ms)
  local how = (floor(created / 3600000) + 72) % 168
  bump(c, 'requests')
  bump(c, 'prio:' .. r.priority)
  bump(c, 'area:' .. r.area_id)
  bump(c, 'mode:' .. r.mode)
  bump(c, 'consent:' .. (r.consent or 'given'))  -- `given`: before consent was kept
  bump(c, 'age:' .. r.age_band)
  bump(c, 'sex:' .. r.sex)
  bump(c, 'how:' .. how)
  if r.repeat_30d then bump(c, 'repeat_30d') end  -- lua/_common.lua person_repeat
  if r.repeat_12m then bump(c, 'repeat_12m') end
  if t.with_heat then bump(t.heat, how .. ':' .. r.area_id) end
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
  for _, id in ipairs(call('ZRANGEBYSCORE', K.reqs_created, from_ms, '(' .. to_ms)) do
    local r = load(id)
    if r.status and (not spec.board or r.board == spec.board) then add_record(t, r) end
  end
  sign = 1
end

local function tally_of(part, kinds, with_heat, fields)
  local t = new_tally(part, kinds, with_heat, fields)
  for _, b in ipairs(part.blocks) do add_counters(t, block_name(b[1], b[2]), 1) end
  for _, slice in ipairs(part.slices) do add_counters(t, 'S:' .. slice[1], slice[2]) end
  for _, minute in ipairs(part.minutes) do add_counters(t, 'M:' .. minute[1], minute[2]) end
  for _, edge in ipairs(part.edges) do add_raw(t, edge[1], edge[2], edge[3]) end
  collect_top(t)
  return t
end

-- Open referrals (and s298 notifications) of the window's requests not yet due at
-- `spec.now_ms`: the on-time rate leaves them out. One ZCOUNT a piece of the window (its
-- blocks, slices and minutes, `referrals:due:...` in lua/_referrals_due.lua; a board's own
-- for a board's figures), and the referrals of the requests at its edges read one by one.
local function not_yet_due()
  local found = {ref = 0, mwc = 0}
  local later, of_board = '(' .. spec.now_ms, spec.board and ('@' .. spec.board) or ''
  local function add(piece, with_sign)
    for counter in pairs(found) do
      local key = K.referrals_due(counter .. of_board .. ':' .. piece)
      found[counter] = found[counter] + with_sign * call('ZCOUNT', key, later, '+inf')
    end
  end
  for _, b in ipairs(spec.blocks) do add(block_name(b[1], b[2]), 1) end
  for _, slice in ipairs(spec.slices) do add('S:' .. slice[1], slice[2]) end
  for _, minute in ipairs(spec.minutes) do add('M:' .. minute[1], minute[2]) end
  for _, edge in ipairs(spec.edges) do
    for _, id in ipairs(call('ZRANGEBYSCORE', K.reqs_created, edge[1], '(' .. edge[2])) do
      local r = load(id)
      if r.status and (not spec.board or r.board == spec.board) then
        for _, rid in ipairs({r.referral_id or false, r.notice_id or false}) do
          local f = rid and call('HMGET', K.referral(rid), 'status', 'due_ms', 'kind')
          if f and (f[1] == 'pending' or f[1] == 'accepted') and tonumber(f[2]) > spec.now_ms then
            local counter = f[3] == 'mwc_notification' and 'mwc' or 'ref'
            found[counter] = found[counter] + edge[3]
          end
        end
      end
    end
  end
  return found
end

local main = tally_of(spec, KINDS, spec.heat_map)
local result = {counts = main.counts, heat = main.heat, within = within(main, spec.threshold_s),
                durations = {}, series = {}, not_due = not_yet_due()}
for _, kind in ipairs(KINDS) do
  result.durations[kind] = durations(main, kind, spec.percentiles[kind])
end
-- A point of the series lies inside the window, so its waits are in the window's bins.
local POINT_FIELDS = {'requests', 'accepted', 'wait_sum_ms'}
local point_counters = {unpack(POINT_FIELDS)}
for bin in pairs(main.top.wait) do point_counters[#point_counters + 1] = 'wait_b:' .. bin end
for i, part in ipairs(spec.series) do
  local t = tally_of(part, {'wait'}, false, point_counters)
  local within_n, wait = hour_waits(t, part.span, spec.threshold_s, {50, 90})
  if not wait then within_n, wait = within(t, spec.threshold_s), durations(t, 'wait', {50, 90}) end
  local point = {within = within_n, wait = wait}
  for _, name in ipairs(POINT_FIELDS) do point[name] = t.counts[name] or 0 end
  result.series[i] = point
end
-- Where the local offset changes inside the window, each part's hours of week apart.
local HOW_FIELDS = {}
for hour = 0, 167 do HOW_FIELDS[hour + 1] = 'how:' .. hour end
if spec.segments then
  result.segments = {}
  for i, part in ipairs(spec.segments) do
    local t = tally_of(part, {}, spec.heat_map, HOW_FIELDS)
    local counts = {}
    for field, n in pairs(t.counts) do
      if field:sub(1, 4) == 'how:' then counts[field] = n end
    end
    result.segments[i] = {counts = counts, heat = t.heat}
  end
end
return cjson.encode(result)
