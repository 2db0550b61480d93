-- A clinician records what became of a referral.
-- ARGV: prefix, now, referral_id, status, note, actor_id
local rid, status = ARGV[3], ARGV[4]
local fkey = K.referral(rid)
local current = redis.call('HGET', fkey, 'status')
if not current then return fail('not_found') end
if current ~= 'pending' and current ~= 'accepted' then return fail('referral_closed', current) end
redis.call('HSET', fkey, 'status', status, 'updated_ms', NOW)
if ARGV[5] ~= '' then redis.call('HSET', fkey, 'note', ARGV[5]) end
if status ~= 'accepted' then
  redis.call('ZREM', K.referrals_open, rid)
  redis.call('ZREM', K.referrals_mwc, rid)
  local request = redis.call('HGET', fkey, 'request_id')
  local created = redis.call('HGET', K.request(request), 'created_ms')
  counting(request)
  -- s298 notifications are counted apart from referrals (as `referrals` and `s297` are).
  local counter = redis.call('HGET', fkey, 'kind') == 'mwc_notification' and 'mwc' or 'ref'
  if status == 'completed' and created then
    count(created, counter .. '_completed')
    if NOW <= tonumber(redis.call('HGET', fkey, 'due_ms')) then
      count(created, counter .. '_on_time')
    end
  end
end
event('referral_' .. status, redis.call('HGET', fkey, 'request_id'), ARGV[6], 'clinician',
      {'referral_id', rid})
return ok({id = rid})
