-- include: _now _answers _events _counters _clinicians _alarms
-- Accepting a waiting request (lua/accept.lua, lua/next.lua): whether it is offered to a
-- clinician, and the one step that gives it to them.

local function offered(id, boards)
  if not boards then return true end
  local row = redis.call('HMGET', K.request(id), 'board', 'overflow_ms')
  local board, overflow = row[1] or '', tonumber(row[2] or '0') or 0
  return board == '' or boards[board] == true or NOW >= overflow
end

local function accept(id, clinician, clinician_name)
  local rkey = K.request(id)
  local status = redis.call('HGET', rkey, 'status')
  if not status then return fail('not_found') end
  if status == 'waiting' and not offered(id, covers(clinician)) then return fail('not_found') end
  counting(id)
  -- One person at a time: a second session is how an outcome gets filed on the wrong person.
  if status == 'waiting' and redis.call('SCARD', K.clinician_sessions(clinician)) > 0 then
    return fail('already_in_session', status)
  end
  if status ~= 'waiting' then
    if status == 'in_session' then return fail('already_assigned', status) end
    return fail('not_waiting', status)
  end
  local created = tonumber(redis.call('HGET', rkey, 'created_ms'))
  local wait_ms = NOW - created
  redis.call('HSET', rkey, 'status', 'in_session', 'clinician_id', clinician,
             'clinician_name', clinician_name, 'accepted_ms', NOW,
             'clinician_phone', redis.call('HGET', K.user(clinician), 'phone') or '')
  redis.call('ZREM', K.queue, id)
  redis.call('ZREM', K.due, 'expire:' .. id)
  redis.call('SADD', K.active, id)
  local before = redis.call('HGET', K.clin_state, clinician)
  if before ~= 'busy' then
    redis.call('HSET', K.clin_before, clinician, before or 'offline')
  end
  redis.call('HSET', K.clin_state, clinician, 'busy')
  redis.call('SADD', K.clinician_sessions(clinician), id)
  resolve_alarms(id, WAITING_ALARMS, 'request_accepted')
  remember(K.recent_waits, wait_ms)
  if redis.call('HGET', rkey, 'answered') ~= '1' then
    redis.call('HSET', rkey, 'answered', '1', 'first_wait_ms', wait_ms)
    count(created, 'accepted')
    observe('wait', id, created, wait_ms)
  end
  event('accepted', id, clinician, 'clinician', {'wait_ms', wait_ms})
  return done(id)
end
