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
--   claim     user (the grace timer fired)                  -> {claimed: bool}
--   on_duty   [board] (clinicians available or busy with a live lease; with a board, only
--             those covering it)    -> {on_duty: n, available: n, busy: n, returning: n}
--             (available and busy: by availability alone, live lease or not; returning:
--             no live lease but their grace timer running, e.g. between two pages)
local op = ARGV[3]
local USERS = K.presence_users
local leases = K.leases

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

if op == 'hold' then
  local expiry = NOW + tonumber(ARGV[5])
  local held = 0
  for _, pair in ipairs(cjson.decode(ARGV[4])) do
    local user, lease = pair[1], pair[2]
    redis.call('ZADD', leases(user), expiry, lease)
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
  return ok({claimed = redis.call('ZCOUNT', leases(user), '(' .. NOW, '+inf') == 0})
elseif op == 'on_duty' then
  local board = ARGV[4] or ''
  local states = redis.call('HGETALL', K.clin_state)
  local n, returning, by_state = 0, 0, {available = 0, busy = 0}
  for i = 1, #states, 2 do
    local user, state = states[i], states[i + 1]
    local boards = board ~= '' and covers(user)
    if (state == 'available' or state == 'busy') and (not boards or boards[board]) then
      by_state[state] = by_state[state] + 1
      if redis.call('ZCOUNT', leases(user), '(' .. NOW, '+inf') > 0 then
        n = n + 1
      elseif redis.call('ZSCORE', K.due, 'grace:' .. user) then
        returning = returning + 1
      end
    end
  end
  return ok({on_duty = n, available = by_state.available, busy = by_state.busy,
             returning = returning})
end
return fail('unknown_op')
