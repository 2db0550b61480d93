-- include: _now _answers _events _counters _alarms _idempotency _referrals_due
-- A clinician or the receiving team records what became of a referral, each status with its
-- own time (`accepted_ms`, `declined_ms`, `completed_ms`, ...) and who set it.
-- Receivers move pending -> accepted | declined, accepted -> completed | did_not_attend, and
-- only their own team's referrals (any other is not found); the referring clinician (the one
-- who filed the outcome that made it) may close an open one with any of accepted, completed,
-- did_not_attend, cancelled: to any other clinician it is not found.
-- ARGV: prefix, now, referral_id, status, note, actor_id, role, team ('' unless a receiver),
--       idempotency (last: a repeat answers the referral as it now stands, not 409)
local again = idem_repeat(function(seen)
  return ok({id = seen, status = redis.call('HGET', K.referral(seen), 'status'), repeated = true})
end)
if again then return again end
local rid, status, role, team = ARGV[3], ARGV[4], ARGV[7], ARGV[8]
local fkey = K.referral(rid)
local r = redis.call('HMGET', fkey, 'status', 'team', 'kind', 'request_id', 'due_ms',
                     'created_ms', 'clinician_id')
local current = r[1]
if not current then return fail('not_found') end
if role == 'receiver' and r[2] ~= team then return fail('not_found') end
if role == 'clinician' then
  -- A referral from before its maker was kept: the clinician who filed the outcome.
  local maker = r[7] or redis.call('HGET', K.request(r[4]), 'clinician_id')
  if maker ~= ARGV[6] then return fail('not_found') end
end
if current ~= 'pending' and current ~= 'accepted' then return fail('referral_closed', current) end
-- An s298 notification is sent to the Mental Welfare Commission or cancelled: nobody attends.
if r[3] == 'mwc_notification' and status ~= 'completed' and status ~= 'cancelled' then
  return fail('notice_status', current)
end
local RECEIVER_NEXT = {pending = {accepted = true, declined = true},
                       accepted = {completed = true, did_not_attend = true}}
if role == 'receiver' and not RECEIVER_NEXT[current][status] then
  return fail('illegal_transition', current)
end
redis.call('HSET', fkey, 'status', status, 'updated_ms', NOW, status .. '_ms', NOW,
           status .. '_by', ARGV[6])
if ARGV[5] ~= '' then redis.call('HSET', fkey, 'note', ARGV[5]) end
if status == 'declined' then redis.call('HSET', fkey, 'decline_reason', ARGV[5]) end
redis.call('ZREM', K.alarm_deliveries, 'team:' .. rid)  -- the team has seen it
resolve_alarms(rid, status == 'accepted' and ACCEPTED_ENDS or REFERRAL_ALARMS, 'referral_' .. status)
-- s298 notifications are counted apart from referrals (as `referrals` and `s297` are).
local counter = r[3] == 'mwc_notification' and 'mwc' or 'ref'
if status ~= 'accepted' then
  counting(r[4])  -- its health board's counters too
  redis.call('ZREM', K.referrals_open, rid)
  redis.call('ZREM', K.referrals_mwc, rid)
  local created = redis.call('HGET', K.request(r[4]), 'created_ms')
  if created then unindex_open_referral(counter, created, rid) end
  if r[2] then redis.call('ZREM', K.team_open(r[2]), rid) end
  if status == 'completed' and created then
    count(created, counter .. '_completed')
    if NOW <= tonumber(r[5]) then count(created, counter .. '_on_time') end
    if counter == 'ref' then observe('refdone', rid, created, NOW - tonumber(r[6])) end
  end
end
event('referral_' .. status, r[4], ARGV[6], role, {'referral_id', rid})
audit('referral_updated', r[4], ARGV[6], role, {'referral_id', rid, 'change', status})
redis.call('PUBLISH', K.wake, cjson.encode({type = 'referral', referral_id = rid}))
idem_record(rid)
return ok({id = rid, status = status})
