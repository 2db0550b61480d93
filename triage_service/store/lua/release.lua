-- The assigned clinician hands a request back; it keeps its original place in the queue.
-- ARGV: prefix, now, id, clinician_id, reason, min_remaining_ms, actor_role,
--       idempotency (last)
local again = idem_repeat()
if again then return again end
local id, clinician = ARGV[3], ARGV[4]
local rkey = K.request(id)
local status = redis.call('HGET', rkey, 'status')
if not status then return fail('not_found') end
if status ~= 'in_session' or redis.call('HGET', rkey, 'clinician_id') ~= clinician then
  return fail('not_in_session', status)
end
redis.call('HSET', rkey, 'status', 'waiting', 'clinician_id', '', 'clinician_name', '',
           'accepted_ms', '')
redis.call('ZADD', K.queue, redis.call('HGET', rkey, 'score'), id)
local expire_at = tonumber(redis.call('HGET', rkey, 'expire_ms'))
redis.call('ZADD', K.due, math.max(expire_at, NOW + tonumber(ARGV[6])), 'expire:' .. id)
redis.call('SREM', K.active, id)
redis.call('SREM', K.clinician_sessions(clinician), id)
free_clinician(clinician)
event('released', id, clinician, ARGV[7], {'reason', ARGV[5]})
-- Who had it, for need-to-know: a clinician who was assigned may still read it.
local past = redis.call('HGET', rkey, 'past_clinicians') or ''
if not string.find(',' .. past .. ',', ',' .. clinician .. ',', 1, true) then
  redis.call('HSET', rkey, 'past_clinicians', past == '' and clinician or past .. ',' .. clinician)
end
idem_record(id)
return done(id)
