-- Raises an alarm once per (kind, subject), whichever instance gets there first: the claim,
-- the record, its indexes, its event, its deliveries and the wake-up in one step.
-- ARGV: prefix, now, kind, subject, alarm_json (flat fields), claim_ttl_s, deliver
--       (space-separated delivery channels, '' for none)
local kind, subject = ARGV[3], ARGV[4]
local alarm = cjson.decode(ARGV[5])
local claim = K.alarm_claim(kind, subject)
if not redis.call('SET', claim, alarm.id, 'NX', 'EX', tonumber(ARGV[6])) then
  return fail('already_raised')
end
local flat = {}
for name, value in pairs(alarm) do
  flat[#flat + 1] = name
  flat[#flat + 1] = tostring(value)
end
redis.call('HSET', K.alarm(alarm.id), unpack(flat))
redis.call('ZADD', K.alarms_open, NOW, alarm.id)
redis.call('ZADD', K.alarms_all, NOW, alarm.id)
for channel in string.gmatch(ARGV[7], '%S+') do
  redis.call('ZADD', K.alarm_deliveries, NOW, channel .. ':' .. alarm.id)
end
local entry = {'type', 'alarm_raised', 'request_id', alarm.request_id or '', 'actor', 'system',
               'role', 'system', 'at', tostring(NOW), 'alarm_id', alarm.id, 'kind', kind,
               'level', alarm.level}
redis.call('XADD', K.events, '*', unpack(entry))
redis.call('PUBLISH', K.wake, cjson.encode({type = 'alarm', alarm_id = alarm.id}))
return ok({id = alarm.id})
