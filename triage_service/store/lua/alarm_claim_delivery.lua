-- Claims one due delivery of an alarm for this instance: its next attempt moves to the end
-- of a lease, so no other instance sends it meanwhile and a crashed sender's lease runs out.
-- ARGV: prefix, now, member (channel:alarm_id), lease_ms
local member = ARGV[3]
local due = redis.call('ZSCORE', K.alarm_deliveries, member)
if not due or tonumber(due) > NOW then return fail('not_due') end
local id = string.match(member, ':(.*)$')
if redis.call('HEXISTS', K.alarm(id), 'acknowledged_ms') == 1 then
  redis.call('ZREM', K.alarm_deliveries, member)
  return fail('acknowledged')
end
redis.call('ZADD', K.alarm_deliveries, NOW + tonumber(ARGV[4]), member)
local attempt = redis.call('HINCRBY', K.alarm(id), member .. ':attempts', 1)
return ok({attempt = attempt})
