-- include: _now _answers _events _clinicians
-- A request in session with one clinician: the guard every step that needs it goes through,
-- and handing it back to the queue.

-- The status of request `id` when `clinician` holds it in session; otherwise nil and the
-- refusal (`not_found`, or `not_in_session` with the status it is in).
local function in_session_with(id, clinician)
  local rkey = K.request(id)
  local status = redis.call('HGET', rkey, 'status')
  if not status then return nil, fail('not_found') end
  if status ~= 'in_session' or redis.call('HGET', rkey, 'clinician_id') ~= clinician then
    return nil, fail('not_in_session', status)
  end
  return status
end

-- Who had it, for need-to-know: a clinician who was assigned (before a release or a
-- transfer) may still read it.
local function remember_past_clinician(rkey, clinician)
  local past = redis.call('HGET', rkey, 'past_clinicians') or ''
  if not string.find(',' .. past .. ',', ',' .. clinician .. ',', 1, true) then
    redis.call('HSET', rkey, 'past_clinicians',
               past == '' and clinician or past .. ',' .. clinician)
  end
end

-- Hands request `id` back to the queue at its original place (lua/release.lua, and every
-- session of a clinician whose grace period ran out, lua/presence.lua); nil when done, else
-- the refusal. Its expiry is kept, but at least `min_remaining_ms` away.
local function release_session(id, clinician, reason, min_remaining_ms, actor_role)
  local _, refused = in_session_with(id, clinician)
  if refused then return refused end
  local rkey = K.request(id)
  redis.call('HSET', rkey, 'status', 'waiting', 'clinician_id', '', 'clinician_name', '',
             'clinician_phone', '', 'accepted_ms', '')
  redis.call('ZADD', K.queue, redis.call('HGET', rkey, 'score'), id)
  local expire_at = tonumber(redis.call('HGET', rkey, 'expire_ms'))
  redis.call('ZADD', K.due, math.max(expire_at, NOW + min_remaining_ms), 'expire:' .. id)
  redis.call('SREM', K.active, id)
  redis.call('SREM', K.clinician_sessions(clinician), id)
  free_clinician(clinician)
  event('released', id, clinician, actor_role, {'reason', reason})
  remember_past_clinician(rkey, clinician)
  return nil
end
