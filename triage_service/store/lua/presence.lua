-- include: _now _answers _clinicians _sessions
-- Clinician presence as leases: each open socket holds a lease (a member of the sorted set
-- `presence:{user}` scored by its expiry time) that its instance renews. A clinician with no
-- live lease anywhere gets the grace timer (`grace:{user}` in `due`) exactly once, whichever
-- instance notices: the one closing the last socket, or the sweep of expired leases after an
-- instance died and took its leases with it. `presence:users` holds each present clinician
-- scored by the expiry of their latest lease, so the sweep finds the lapsed ones directly.
-- ARGV: prefix, now, op, then per op:
--   hold      leases (JSON [[user, lease], ...]), ttl_ms   -> {held}
--   drop      user, lease, grace_ms                         -> {grace: bool}
--   reap      grace_ms, limit                               -> {graced: [user, ...]}
--   claim     user, reason, min_remaining_ms (the grace timer fired: in the same step,
--             every session of the user goes back to the queue and the user goes offline,
--             so a crash can never leave a claimed timer with sessions still held)
--                                                           -> {claimed: bool, released: [id]}
--   on_duty   [board] (clinicians available or busy with a live lease; with a board, only
--             those covering it)    -> {on_duty: n, available: n, busy: n, returning: n}
--             (available and busy: by availability alone, live lease or not; returning:
--             no live lease but their grace timer running, e.g. between two pages, or their
--             leases lapsed and not yet swept, which starts that timer)
--   place     board, request id (`on_duty` with, in the same step, what the wait estimate of
--             a waiting request needs: its queue rank, false when not waiting, the recent
--             waits and sessions, every clinician's availability)
--                        -> {on_duty, available, busy, returning, rank, waits, sessions, states}
-- A stalled store (stopped, frozen by a fork or swap) or one no instance could reach: while
-- it served nothing, no instance could renew a lease, so that time does not count against
-- the leases. Every step first compares the store's own clock (TIME) with that of the last
-- presence step it served; after a gap longer than a renewal interval (a third of a lease)
-- every lease is extended by the gap, before anything is judged.
local op = ARGV[3]
local USERS = K.presence_users
local leases = K.leases

-- The steps that only read (`on_duty`, `place`: every create, read of a waiting request
-- and queue broadcast) write nothing unless they find a stall, so they cost no append-only
-- file write and nothing to replicate; the sweep's and the renewals' steps, every second or
-- so on each instance, keep the clock current.
local READS = {on_duty = true, place = true}

local function resumed()
  local time = redis.call('TIME')
  local served = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local last = redis.call('HMGET', K.presence_clock, 'served_ms', 'lease_ms')
  local gap, lease_ms = served - (tonumber(last[1]) or served), tonumber(last[2]) or 0
  local stalled = lease_ms > 0 and gap * 3 > lease_ms
  if stalled or not READS[op] then redis.call('HSET', K.presence_clock, 'served_ms', served) end
  if not stalled then return end
  for _, user in ipairs(redis.call('ZRANGE', USERS, 0, -1)) do
    local set = leases(user)
    local held = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
    for i = 1, #held, 2 do redis.call('ZADD', set, tonumber(held[i + 1]) + gap, held[i]) end
    redis.call('ZINCRBY', USERS, gap, user)
  end
end

resumed()

-- Drops the user's lapsed leases; with none left, forgets the user and starts the grace
-- timer (NX: an earlier one keeps its time). True when the timer was started here.
local function settle(user, grace_ms)
  local set = leases(user)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', NOW)
  local latest = redis.call('ZRANGE', set, -1, -1, 'WITHSCORES')
  if latest[2] then
    redis.call('ZADD', USERS, latest[2], user)
    return false
  end
  redis.call('DEL', set)
  redis.call('ZREM', USERS, user)
  return redis.call('ZADD', K.due, 'NX', NOW + grace_ms, 'grace:' .. user) == 1
end

-- The user did not come back within the grace period: each of their sessions goes back to
-- the queue (lua/_sessions.lua `release_session`), then they are offline, with its event.
local function gone(user, reason, min_remaining_ms)
  local released = {}
  for _, id in ipairs(redis.call('SMEMBERS', K.clinician_sessions(user))) do
    if not release_session(id, user, reason, min_remaining_ms, 'system') then
      released[#released + 1] = id
    end
  end
  redis.call('HSET', K.clin_state, user, 'offline')
  local name = redis.call('HGET', K.user(user), 'display_name')
  if name then redis.call('HSET', K.clin_names, user, name) end
  redis.call('XADD', K.events, '*', 'type', 'availability', 'request_id', '', 'actor', user,
             'role', 'clinician', 'at', tostring(NOW), 'status', 'offline')
  redis.call('PUBLISH', K.wake, cjson.encode({type = 'availability', request_id = ''}))
  return released
end

if op == 'hold' then
  local expiry = NOW + tonumber(ARGV[5])
  redis.call('HSET', K.presence_clock, 'lease_ms', ARGV[5])
  local held = 0
  for _, pair in ipairs(cjson.decode(ARGV[4])) do
    local user, lease = pair[1], pair[2]
    -- GT: a renewal sent before a stall and served after it never shortens an extended lease.
    redis.call('ZADD', leases(user), 'GT', expiry, lease)
    redis.call('ZADD', USERS, 'GT', expiry, user)
    redis.call('ZREM', K.due, 'grace:' .. user)
    held = held + 1
  end
  return ok({held = held})
elseif op == 'drop' then
  local user = ARGV[4]
  redis.call('ZREM', leases(user), ARGV[5])
  return ok({grace = settle(user, tonumber(ARGV[6]))})
elseif op == 'reap' then
  local graced = {}
  for _, user in ipairs(redis.call('ZRANGEBYSCORE', USERS, '-inf', NOW, 'LIMIT', 0,
                                   tonumber(ARGV[5]))) do
    if settle(user, tonumber(ARGV[4])) then graced[#graced + 1] = user end
  end
  return ok({graced = graced})
elseif op == 'claim' then
  local user = ARGV[4]
  if redis.call('ZREM', K.due, 'grace:' .. user) == 0 then return ok({claimed = false}) end
  if redis.call('ZCOUNT', leases(user), '(' .. NOW, '+inf') > 0 then
    return ok({claimed = false})
  end
  return ok({claimed = true, released = gone(user, ARGV[5], tonumber(ARGV[6]))})
elseif op == 'on_duty' then
  local n, available, busy, returning = on_duty_counts(ARGV[4] or '')
  return ok({on_duty = n, available = available, busy = busy, returning = returning})
elseif op == 'place' then
  local n, available, busy, returning = on_duty_counts(ARGV[4] or '')
  return ok({on_duty = n, available = available, busy = busy, returning = returning,
             rank = redis.call('ZRANK', K.queue, ARGV[5]),
             waits = redis.call('LRANGE', K.recent_waits, 0, -1),
             sessions = redis.call('LRANGE', K.recent_sessions, 0, -1),
             states = redis.call('HVALS', K.clin_state)})
end
return fail('unknown_op')
