-- include: _now _answers _events _clinicians _sessions _transfers _idempotency
-- The offered colleague takes the request over, in one step: they become its assigned
-- clinician (busy), the first clinician's access ends as on release (free again, read-only
-- access as a past clinician), the record keeps the hand-over in `transfers` and a note in
-- the chat, and the officer is told (the `transferred` event's wake-up).
-- ARGV: prefix, now, id, colleague_id, chat message (JSON), its chat wake-up (JSON), idempotency (last)
local again = idem_repeat()
if again then return again end
local id, colleague = ARGV[3], ARGV[4]
local rkey = K.request(id)
local status = redis.call('HGET', rkey, 'status')
if not status then return fail('not_found') end
local offer = pending_offer(id)
if not offer or offer.transfer_to ~= colleague then
  if redis.call('HGET', rkey, 'transfer_to') == colleague then return fail('offer_lapsed', status) end
  return fail('not_found')
end
if redis.call('SCARD', K.clinician_sessions(colleague)) > 0 then
  return fail('already_in_session', status)
end
local from = offer.transfer_from
local trail = cjson.decode(redis.call('HGET', rkey, 'transfers') or '[]')
trail[#trail + 1] = {from = from, from_name = offer.transfer_from_name, to = colleague,
                     to_name = offer.transfer_to_name, at = NOW, note = offer.transfer_note}
redis.call('HSET', rkey, 'clinician_id', colleague, 'clinician_name', offer.transfer_to_name,
           'clinician_phone', redis.call('HGET', K.user(colleague), 'phone') or '',
           'transferred_ms', NOW, 'transfers', cjson.encode(trail))
-- The first clinician: out of the session, as on release.
redis.call('SREM', K.clinician_sessions(from), id)
free_clinician(from)
remember_past_clinician(rkey, from)
-- The colleague: in the session, busy.
local before = redis.call('HGET', K.clin_state, colleague)
if before ~= 'busy' then redis.call('HSET', K.clin_before, colleague, before or 'offline') end
redis.call('HSET', K.clin_state, colleague, 'busy')
redis.call('SADD', K.clinician_sessions(colleague), id)
redis.call('RPUSH', K.messages(id), ARGV[5])
redis.call('PUBLISH', K.wake, ARGV[6])
close_offer(id, offer, 'accepted')
audit('transfer_accepted', id, colleague, 'clinician', {'from', from})
event('transferred', id, colleague, 'clinician', {'from', from})
idem_record(id)
return done(id)
