-- include: _now
-- Clinicians: back to their availability after a session, the boards they cover, who is on
-- duty.

-- After a clinician's last session ends: back to the availability they had before accepting
-- (unless they changed it during the session).
local function free_clinician(clinician)
  if redis.call('SCARD', K.clinician_sessions(clinician)) > 0 then return end
  local before = redis.call('HGET', K.clin_before, clinician) or 'available'
  redis.call('HDEL', K.clin_before, clinician)
  if redis.call('HGET', K.clin_state, clinician) == 'busy' then
    redis.call('HSET', K.clin_state, clinician, before)
  end
end

-- Routing (domain/routing.py `offered_to`): a waiting request is offered to the clinicians
-- covering its board (`boards` on the account: comma-separated, empty for all) and, from
-- its `overflow_ms` on, to every clinician.
local function covers(clinician)
  local boards = redis.call('HGET', K.user(clinician), 'boards') or ''
  if boards == '' then return nil end
  local set = {}
  for board in string.gmatch(boards, '[^,]+') do set[board] = true end
  return set
end

-- Clinicians available or busy with a live lease (a socket open somewhere); with a `board`,
-- only those covering it. Also by availability alone (live lease or not), and those with no
-- live lease whose grace timer runs (between two pages, say) or whose lease lapsed and is
-- not yet swept (the sweep gives them grace): on duty, available, busy, returning.
local function on_duty_counts(board)
  local states = redis.call('HGETALL', K.clin_state)
  local n, returning, by_state = 0, 0, {available = 0, busy = 0}
  for i = 1, #states, 2 do
    local user, state = states[i], states[i + 1]
    local boards = board ~= '' and covers(user)
    if (state == 'available' or state == 'busy') and (not boards or boards[board]) then
      by_state[state] = by_state[state] + 1
      if redis.call('ZCOUNT', K.leases(user), '(' .. NOW, '+inf') > 0 then
        n = n + 1
      elseif redis.call('ZSCORE', K.due, 'grace:' .. user)
             or redis.call('ZSCORE', K.presence_users, user) then
        returning = returning + 1
      end
    end
  end
  return n, by_state.available, by_state.busy, returning
end
