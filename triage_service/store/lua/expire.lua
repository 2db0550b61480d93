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
count(created, 'expired')
event('expired', id, 'system', 'system', {'waited_ms', NOW - created})
return ok({id = id})
