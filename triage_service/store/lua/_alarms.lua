-- include: _now
-- Alarms that end with their cause, and which kinds end with which cause.

-- Alarms end with their cause: the open alarms of these `kinds` about `subject` (a request
-- or a referral id) are resolved with `reason` (request_accepted, referral_completed, ...),
-- leave the open list and stop escalating, each in the step that ended the cause.
local function resolve_alarms(subject, kinds, reason)
  for _, kind in ipairs(kinds) do
    local alarm_id = redis.call('GET', K.alarm_claim(kind, subject))
    local akey = alarm_id and K.alarm(alarm_id)
    if akey and redis.call('EXISTS', akey) == 1 and redis.call('HEXISTS', akey, 'resolved_ms') == 0 then
      redis.call('HSET', akey, 'resolved_ms', NOW, 'resolved_reason', reason)
      redis.call('ZREM', K.alarms_open, alarm_id)
      redis.call('ZREM', K.alarm_deliveries, 'webhook:' .. alarm_id, 'email:' .. alarm_id)
      redis.call('XADD', K.events, '*', 'type', 'alarm_resolved',
                 'request_id', redis.call('HGET', akey, 'request_id') or '', 'actor', 'system',
                 'role', 'system', 'at', tostring(NOW), 'alarm_id', alarm_id, 'reason', reason)
      redis.call('PUBLISH', K.wake, cjson.encode({type = 'alarm', alarm_id = alarm_id}))
    end
  end
end

-- The alarms a waiting request raises, which end when it stops waiting.
local WAITING_ALARMS = {'long_wait', 'no_clinician_on_duty'}
-- The alarms an open referral raises, which end when it is closed; a referral to a team
-- nobody staffs also ends when someone accepts it.
local REFERRAL_ALARMS = {'referral_overdue', 's298_due', 'referral_unstaffed'}
local ACCEPTED_ENDS = {'referral_unstaffed'}
