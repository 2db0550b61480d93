-- The account of a person a provider vouches for, in one atomic step: the one already linked
-- to (issuer, subject), else a new account linked to it (only when ARGV[6] is '1').
-- KEYS: [1] subjects hash, [2] username index, [3] the new account's hash
-- ARGV: [1] '{issuer} {subject}', [2] new user id, [3] lower-cased username,
--       [4] lower-cased alternative username (the first taken), [5] the account's fields as
--       JSON (its `username` is set here to the name claimed), [6] '1' to create, [7] the
--       username as typed, [8] the alternative as typed
-- Returns {'existing', id} | {'created', id, username} | {'unknown'} | {'taken'}
local linked = redis.call('HGET', KEYS[1], ARGV[1])
if linked then return {'existing', linked} end
if ARGV[6] ~= '1' then return {'unknown'} end
local lower, typed = ARGV[3], ARGV[7]
if redis.call('HEXISTS', KEYS[2], lower) == 1 then
  lower, typed = ARGV[4], ARGV[8]
  if lower == '' or redis.call('HEXISTS', KEYS[2], lower) == 1 then return {'taken'} end
end
local account = cjson.decode(ARGV[5])
account['username'] = typed
local flat = {}
for name, value in pairs(account) do
  flat[#flat + 1] = name
  flat[#flat + 1] = tostring(value)
end
redis.call('HSET', KEYS[3], unpack(flat))
redis.call('HSET', KEYS[2], lower, ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {'created', ARGV[2], typed}
