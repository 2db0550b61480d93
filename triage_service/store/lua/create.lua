-- Creates a waiting request, honouring an idempotency key.
-- ARGV: prefix, now, id, officer_id, idem_key ('' for none), idem_ttl_s, expire_at_ms,
--       fields (JSON object of hash fields)
local id, officer, idem = ARGV[3], ARGV[4], ARGV[5]
local idem_key = K.idempotency(officer, idem)
if idem ~= '' then
  local existing = redis.call('GET', idem_key)
  -- A key another kind of change recorded (JSON, not a request id) is refused.
  if existing and string.sub(existing, 1, 1) == '{' then return fail('idempotency_key_reused') end
  if existing then return done(existing, {created = false}) end
end
local fields = cjson.decode(ARGV[8])
local flat = {}
for name, value in pairs(fields) do
  flat[#flat + 1] = name
  flat[#flat + 1] = tostring(value)
end
redis.call('HSET', K.request(id), unpack(flat))
BOARD = fields.board or ''
redis.call('ZADD', K.queue, fields.score, id)
redis.call('ZADD', K.officer_requests(officer), NOW, id)
redis.call('ZADD', K.reqs_created, NOW, id)
redis.call('ZADD', K.due, ARGV[7], 'expire:' .. id)
if idem ~= '' then redis.call('SET', idem_key, id, 'EX', ARGV[6]) end
count(NOW, 'requests')
count(NOW, 'prio:' .. fields.priority)
count(NOW, 'area:' .. (fields.area_id or ''))
count(NOW, 'mode:' .. fields.mode)
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
