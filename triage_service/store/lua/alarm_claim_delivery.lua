-- include: _now _answers
-- Claims one due delivery of an alarm (or of a new referral to its team's webhook) for this
-- instance: its next attempt moves to the end of a lease, so no other instance sends it
-- meanwhile and a crashed sender's lease runs out.
-- ARGV: prefix, now, member (channel:alarm_id, or team:referral_id), lease_ms
local member = ARGV[3]
local due = redis.call('ZSCORE', K.alarm_deliveries, member)
if not due or tonumber(due) > NOW then return fail('not_due') end
local channel, id = string.match(member, '^([^:]*):(.*)$')
local record = K.alarm(id)
if channel == 'team' then
  record = K.referral(id)
  if redis.call('EXISTS', record) == 0 then
    redis.call('ZREM', K.alarm_deliveries, member)
    return fail('gone')
  end
elseif redis.call('HEXISTS', record, 'acknowledged_ms') == 1 then
  redis.call('ZREM', K.alarm_deliveries, member)
  return fail('acknowledged')
end
redis.call('ZADD', K.alarm_deliveries, NOW + tonumber(ARGV[4]), member)
local attempt = redis.call('HINCRBY', record, member .. ':attempts', 1)
-- `sent`: how many times it was delivered before; a retry of the same send (after a failure
-- or a crashed sender) has the same number, so receivers can tell a repeat from a retry.
local sent = tonumber(redis.call('HGET', record, member .. ':sent') or '0')
return ok({attempt = attempt, sent = sent})
