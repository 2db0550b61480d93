-- include: _now _answers _events _idempotency
-- Acknowledges an open alarm exactly once and stops its repeated escalation.
-- ARGV: prefix, now, alarm_id, user_id, user_display_name, note ('' for none),
--       idempotency (last: a repeat answers the alarm as the first acknowledgement left it)
local function alarm_record(akey)
  local flat = redis.call('HGETALL', akey)
  local record = {}
  for i = 1, #flat, 2 do record[flat[i]] = flat[i + 1] end
  return record
end

local again = idem_repeat(function(seen)
  return ok({record = alarm_record(K.alarm(seen)), repeated = true})
end)
if again then return again end
local id = ARGV[3]
local akey = K.alarm(id)
if redis.call('EXISTS', akey) == 0 then return fail('not_found') end
if redis.call('HEXISTS', akey, 'acknowledged_ms') == 1 then
  return fail('already_acknowledged')
end
redis.call('HSET', akey, 'acknowledged_ms', NOW, 'acknowledged_by_id', ARGV[4],
           'acknowledged_by_name', ARGV[5], 'note', ARGV[6])
redis.call('ZREM', K.alarms_open, id)
redis.call('ZREM', K.alarm_deliveries, 'webhook:' .. id, 'email:' .. id)
local request_id = redis.call('HGET', akey, 'request_id') or ''
redis.call('XADD', K.events, '*', 'type', 'alarm_acknowledged', 'request_id', request_id,
           'actor', ARGV[4], 'role', 'supervisor', 'at', tostring(NOW), 'alarm_id', id)
audit('alarm_acknowledged', request_id, ARGV[4], 'supervisor', {'alarm_id', id})
redis.call('PUBLISH', K.wake, cjson.encode({type = 'alarm', alarm_id = id}))
idem_record(id)
return ok({record = alarm_record(akey)})
