-- include: _now _answers _events _counters _clinicians _person
-- Creates a waiting request, honouring an idempotency key.
-- ARGV: prefix, now, id, officer_id, idem_key ('' for none), idem_ttl_s, expire_at_ms,
--       fields (JSON object of hash fields), timers (optional: JSON object of the request's
--       other `due` members and times, its fallback and overflow, set in this same step),
--       the officer's creates allowed a minute ('' for no limit)
local id, officer, idem = ARGV[3], ARGV[4], ARGV[5]
-- The officer's creates in this minute are counted first, a repeat too (as
-- store/limits.py's count_action counts them): over the limit nothing is created. Counted
-- here, the create is one round trip from the officer's request to the clinicians' wake-up.
if (ARGV[10] or '') ~= '' then
  local rate = K.action_count('create', officer, tostring(math.floor(NOW / 60000)))
  local made = redis.call('INCR', rate)
  redis.call('EXPIRE', rate, 120)
  if made > tonumber(ARGV[10]) then return fail('rate_limited') end
end
local idem_key = K.idempotency(officer, idem)
if idem ~= '' then
  local existing = redis.call('GET', idem_key)
  -- A key another kind of change recorded (JSON, not a request id) is refused.
  if existing and string.sub(existing, 1, 1) == '{' then return fail('idempotency_key_reused') end
  if existing then return done(existing, {created = false}) end
end
local fields = cjson.decode(ARGV[8])

-- Previous contacts (DOMAIN.md): links the request to the same person's requests of the
-- last 24 months, found under its keys (domain/person.py): those under its CHI's key are a
-- match; those under its name and birth date's a possible match, but for one with a CHI of
-- its own when this request has a CHI too (the same CHI is linked already, another CHI is
-- another person). Then the request joins its keys' lists.
local HISTORY_MS = 730 * 86400000
local function link_person(id, chi_key, name_key)
  local links = K.person_links(id)
  local function link(key, by, skip_with_chi)
    local flat = redis.call('ZRANGEBYSCORE', K.person(key), NOW - HISTORY_MS, NOW, 'WITHSCORES')
    for i = 1, #flat, 2 do
      local other = flat[i]
      if not (skip_with_chi and (redis.call('HGET', K.request(other), 'chi_key') or '') ~= '') then
        redis.call('ZADD', links, flat[i + 1], by .. ':' .. other)
      end
    end
  end
  if chi_key ~= '' then link(chi_key, 'chi', false) end
  if name_key ~= '' then link(name_key, 'name_dob', chi_key ~= '') end
  for _, key in ipairs({chi_key, name_key}) do
    if key ~= '' then redis.call('ZADD', K.person(key), NOW, id) end
  end
end
-- Nobody covering the request's board on duty (nor coming back): it is offered to every
-- clinician at once, not after its overflow time (domain/routing.py).
local offered_to_all = false
if (fields.board or '') ~= '' and tonumber(fields.overflow_ms) > NOW then
  local on_duty, _, _, returning = on_duty_counts(fields.board)
  offered_to_all = on_duty + returning == 0
  if offered_to_all then fields.overflow_ms = NOW end
end
local flat = {}
for name, value in pairs(fields) do
  flat[#flat + 1] = name
  flat[#flat + 1] = tostring(value)
end
redis.call('HSET', K.request(id), unpack(flat))
-- The officer's call-back number: the form's, else the one on their account.
if (fields.officer_phone or '') == '' then
  redis.call('HSET', K.request(id), 'officer_phone',
             redis.call('HGET', K.user(officer), 'phone') or '')
end
counting_board(fields.board)
redis.call('ZADD', K.queue, fields.score, id)
redis.call('ZADD', K.officer_requests(officer), NOW, id)
redis.call('ZADD', K.reqs_created, NOW, id)
redis.call('ZADD', K.due, ARGV[7], 'expire:' .. id)
for member, due in pairs(cjson.decode(ARGV[9] or '{}')) do
  if not (offered_to_all and member == 'overflow:' .. id) then  -- no overflow left to wait for
    redis.call('ZADD', K.due, due, member)
  end
end
if idem ~= '' then redis.call('SET', idem_key, id, 'EX', ARGV[6]) end
count(NOW, 'requests')
count(NOW, 'prio:' .. fields.priority)
count(NOW, 'area:' .. (fields.area_id or ''))
count(NOW, 'mode:' .. fields.mode)
count(NOW, 'consent:' .. (fields.consent or 'given'))
if (fields.person_key or '') ~= '' then
  link_person(id, fields.chi_key or '', fields.name_key or '')
  person_repeat(id, NOW)
end
-- Equity and rota planning: age band, sex (also kept on the record for the statistics'
-- edge hours), hour of week (0 = Monday 00 UTC; shown in local time by shifting each hour,
-- stats/local_time.py), and area id by hour of week apart (`hw`).
local subject = cjson.decode(fields.form).subject or {}
local age = type(subject.age_band) == 'string' and subject.age_band or 'unknown'
local sex = type(subject.sex) == 'string' and subject.sex or 'unknown'
local how = (bucket(NOW) + 72) % 168
redis.call('HSET', K.request(id), 'age_band', age, 'sex', sex)
count(NOW, 'age:' .. age)
count(NOW, 'sex:' .. sex)
count(NOW, 'how:' .. how)
add_all_levels('hw', NOW, how .. ':' .. (fields.area_id or ''), 1)
if BOARD ~= '' then
  add_all_levels('hw', NOW, 'b:' .. BOARD .. ':' .. how .. ':' .. (fields.area_id or ''), 1)
end
redis.call('SADD', K.stats_hours, bucket(NOW))
event('created', id, officer, 'officer', {'priority', fields.priority, 'area', fields.area or '',
      'board', fields.board or ''})
return done(id, {created = true})
