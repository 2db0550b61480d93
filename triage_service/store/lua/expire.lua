-- include: _now _answers _events _counters _alarms
-- A timer fired: a request that is still waiting past the maximum wait expires.
-- ARGV: prefix, now, id
local id = ARGV[3]
local rkey = K.request(id)
redis.call('ZREM', K.due, 'expire:' .. id)
if redis.call('HGET', rkey, 'status') ~= 'waiting' then return fail('not_waiting') end
local created = tonumber(redis.call('HGET', rkey, 'created_ms'))
counting(id)
redis.call('HSET', rkey, 'status', 'expired', 'completed_ms', NOW)
redis.call('ZREM', K.queue, id)
resolve_alarms(id, WAITING_ALARMS, 'request_expired')
count(created, 'expired')
event('expired', id, 'system', 'system', {'waited_ms', NOW - created})
return ok({id = id})
