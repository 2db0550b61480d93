-- include: _now _answers _alarms
-- Raises an alarm once per (kind, subject), whichever instance gets there first: the claim,
-- the record, its indexes, its event, its deliveries and the wake-up in one step.
-- An alarm about a request that no longer waits (or a referral no longer open) is not
-- raised: its cause ended before it was noticed. The alarm keeps the area and the board of
-- its request (a referral's: of the request that made it). `no_clinician_on_duty` also
-- offers its request to every clinician at once (its overflow time is now).
-- ARGV: prefix, now, kind, subject, alarm_json (flat fields), claim_ttl_s, deliver
--       (space-separated delivery channels, '' for none)
local kind, subject = ARGV[3], ARGV[4]
local alarm = cjson.decode(ARGV[5])
local request_id = alarm.request_id or ''
if request_id == '' and (alarm.referral_id or '') ~= '' then
  request_id = redis.call('HGET', K.referral(alarm.referral_id), 'request_id') or ''
end
local rkey = K.request(request_id)
for _, waiting_kind in ipairs(WAITING_ALARMS) do
  if kind == waiting_kind and redis.call('HGET', rkey, 'status') ~= 'waiting' then
    return fail('cause_ended')
  end
end
local OPEN = {pending = true, accepted = true}
for _, referral_kind in ipairs(REFERRAL_ALARMS) do
  if kind == referral_kind
     and not OPEN[redis.call('HGET', K.referral(alarm.referral_id or ''), 'status') or ''] then
    return fail('cause_ended')
  end
end
local claim = K.alarm_claim(kind, subject)
if not redis.call('SET', claim, alarm.id, 'NX', 'EX', tonumber(ARGV[6])) then
  return fail('already_raised')
end
local place = redis.call('HMGET', rkey, 'area_id', 'area', 'board')
alarm.area_id, alarm.area, alarm.board = place[1] or '', place[2] or '', place[3] or ''
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
if kind == 'no_clinician_on_duty'
   and tonumber(redis.call('HGET', rkey, 'overflow_ms') or '0') > NOW then
  redis.call('HSET', rkey, 'overflow_ms', NOW)
  redis.call('ZREM', K.due, 'overflow:' .. request_id)
  redis.call('PUBLISH', K.wake, cjson.encode({type = 'overflowed', request_id = request_id,
                                                    actor = 'system'}))
end
return ok({id = alarm.id})
