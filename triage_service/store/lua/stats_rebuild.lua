-- include: _answers _counters _outcome_counts
-- Rebuilds the statistics counters of one hour of request creation from the records, in one
-- atomic step, so it may run beside live traffic: a lifecycle script lands wholly before it
-- (and is in the records replayed) or wholly after it (and adds to the rebuilt counters).
-- The hour's own counters are taken back out of the blocks of 2, 4, ... hours holding it and
-- deleted with its slices and minutes; then every request created in the hour is counted
-- again as the lifecycle scripts counted it (lua/stats.lua recomputes edge hours alike).
-- The duration bins are sorted sets of `{s}:{id}`: adding a member again changes nothing.
-- ARGV: prefix, now, hour (created_ms // 3600000), short_abandon_ms
local h = tonumber(ARGV[3])
local short_abandon_ms = tonumber(ARGV[4])
local from_ms = h * 3600000
local FIELDS = {'status', 'priority', 'area_id', 'mode', 'first_wait_ms', 'created_ms',
                'accepted_ms', 'completed_ms', 'disposition', 'triage_code', 'conveyance',
                'officer_released_ms', 'referral_id', 'notice_id', 'age_band', 'sex',
                'overridden', 'useful', 'time_saved_min', 'consent', 'repeat_30d', 'repeat_12m'}

-- Takes the hour's counters of `kind` out of every block holding it; deletes the hour's own.
local function unwind(kind)
  local own = K.stats(kind .. ':' .. h)
  local flat = redis.call('HGETALL', own)
  for level = 1, STATS_LEVELS do
    local block = stats_key(kind, h, level)
    for i = 1, #flat, 2 do
      -- The negation spelt as text: a Lua number may print as 1.2e+15 or -0.
      local value = flat[i + 1]
      local negated = value:sub(1, 1) == '-' and value:sub(2) or '-' .. value
      if value ~= '0' and redis.call('HINCRBY', block, flat[i], negated) == 0 then
        redis.call('HDEL', block, flat[i])
      end
    end
  end
  redis.call('DEL', own)
  for slice = from_ms / 300000, from_ms / 300000 + 11 do
    redis.call('DEL', K.stats(kind .. ':S:' .. slice))
  end
  for minute = from_ms / 60000, from_ms / 60000 + 59 do
    redis.call('DEL', K.stats(kind .. ':M:' .. minute))
  end
end

local function load(id)
  local values = redis.call('HMGET', K.request(id), unpack(FIELDS))
  local r = {}
  for i, name in ipairs(FIELDS) do if values[i] and values[i] ~= '' then r[name] = values[i] end end
  if r.status and not r.age_band then  -- a record from before age and sex were kept apart
    local form = redis.call('HGET', K.request(id), 'form')
    local subject = form and cjson.decode(form).subject or {}
    r.age_band = type(subject.age_band) == 'string' and subject.age_band or 'unknown'
    r.sex = type(subject.sex) == 'string' and subject.sex or 'unknown'
  end
  r.area = r.area_id or ''  -- counted by area id, as lua/create.lua counts it
  return r
end

-- What lua/referral_update.lua counted when the referral `rid` was completed.
local function referral_done(created, rid, counter)
  if not rid then return end
  local status, due, done, made = unpack(redis.call('HMGET', K.referral(rid), 'status',
                                                    'due_ms', 'completed_ms', 'created_ms'))
  if status ~= 'completed' then return end
  done = tonumber(done or redis.call('HGET', K.referral(rid), 'updated_ms'))
  count(created, counter .. '_completed')
  if done <= tonumber(due) then count(created, counter .. '_on_time') end
  if counter == 'ref' and made then observe('refdone', rid, created, done - tonumber(made)) end
end

-- What lua/feedback.lua counted when the officer rated the assessment.
local function feedback(created, r)
  if not r.useful then return end
  count(created, 'feedback')
  count(created, 'useful_sum', tonumber(r.useful))
  if r.time_saved_min then
    count(created, 'time_saved_n')
    count(created, 'time_saved_sum', tonumber(r.time_saved_min))
  end
end

-- What lua/outcome.lua (and the referral updates after it) counted.
local function completed(id, created, r)
  for _, field in ipairs(outcome_fields(r)) do count(created, field) end
  observe('assess', id, created, tonumber(r.completed_ms) - tonumber(r.accepted_ms))
  observe('police', id, created, tonumber(r.officer_released_ms) - created)
  if r.referral_id then count(created, 'referrals') end
  if r.notice_id then count(created, 's297') end
  referral_done(created, r.referral_id, 'ref')
  referral_done(created, r.notice_id, 'mwc')
  feedback(created, r)
end

-- What lua/create.lua, accept, cancel, expire and outcome counted for one request.
local function replay(id, r)
  local created = tonumber(r.created_ms)
  local how = (bucket(created) + 72) % 168
  for _, field in ipairs({'requests', 'prio:' .. r.priority, 'area:' .. r.area,
                          'mode:' .. r.mode, 'age:' .. r.age_band, 'sex:' .. r.sex,
                          'how:' .. how, 'consent:' .. (r.consent or 'given')}) do
    count(created, field)
  end
  for _, field in ipairs({'repeat_30d', 'repeat_12m'}) do  -- lua/_common.lua person_repeat
    if r[field] then count(created, field) end
  end
  add_all_levels('hw', created, how .. ':' .. r.area, 1)
  if BOARD ~= '' then add_all_levels('hw', created, 'b:' .. BOARD .. ':' .. how .. ':' .. r.area, 1) end
  redis.call('SADD', K.stats_hours, bucket(created))
  if r.first_wait_ms then
    count(created, 'accepted')
    observe('wait', id, created, tonumber(r.first_wait_ms))
  end
  if r.status == 'cancelled' then
    count(created, 'cancelled')
    if not r.first_wait_ms and tonumber(r.completed_ms) - created >= short_abandon_ms then
      count(created, 'abandoned')
    end
  elseif r.status == 'expired' then
    count(created, 'expired')
  elseif r.status == 'completed' then
    completed(id, created, r)
  end
end

unwind('h')
unwind('hw')
local ids = redis.call('ZRANGEBYSCORE', K.reqs_created, from_ms, '(' .. (from_ms + 3600000))
for _, id in ipairs(ids) do
  local r = load(id)
  counting(id)  -- its health board's counters too
  if r.status then replay(id, r) end
end
return ok({hour = h, requests = #ids})
