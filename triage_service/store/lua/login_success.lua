-- A sign-in succeeded: forget the account+address failures and undo the attempt's count on
-- the account and the address (it was counted as a failure before the password was checked).
-- KEYS: [1] account+address hash, [2] account hash, [3] address counter
redis.call('DEL', KEYS[1])
if tonumber(redis.call('HGET', KEYS[2], 'n') or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], 'n', -1)
end
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 0
