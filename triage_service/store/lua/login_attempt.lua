-- Sign-in throttling, one atomic step: refuse while a delay runs, else count the attempt.
-- KEYS: [1] account+address hash, [2] account hash, [3] address counter
-- ARGV: now_ms, pair_free, account_free, address_limit, max_delay_ms, window_ms
-- The attempt is counted as a failure before the password is checked (a success undoes it),
-- so parallel guesses cannot all pass the check before any of them is counted.
-- The account-wide delay holds back only addresses that have failed on this account in the
-- window: the right password from an address that has not failed is never refused by it.
-- Returns 0 when the attempt may go ahead, else the milliseconds to wait.
local now = tonumber(ARGV[1])
local max_delay, window = tonumber(ARGV[5]), tonumber(ARGV[6])

local function wait_for(key, free)
  local n = tonumber(redis.call('HGET', key, 'n') or '0')
  if n < free then return 0 end
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  local delay = math.min(math.pow(2, math.min(n - free, 40)) * 1000, max_delay)
  return math.max(0, last + delay - now)
end

local wait = wait_for(KEYS[1], tonumber(ARGV[2]))
if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then
  wait = math.max(wait, wait_for(KEYS[2], tonumber(ARGV[3])))
end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  wait = math.max(wait, redis.call('PTTL', KEYS[3]))
end
if wait > 0 then return wait end
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'last', now)
  redis.call('PEXPIRE', key, window)
end
redis.call('INCR', KEYS[3])
if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], window) end
return 0
