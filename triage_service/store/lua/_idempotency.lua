-- include: _answers
-- Idempotency: an idempotent script's last ARGV is its change's key, JSON {user, key, scope,
-- ttl_s} (or '' for none), checked first and recorded in the same step as the change, so a
-- retry after a lost answer (or a 503 after the change) gets the first answer again.
local function idem_arg()
  local raw = ARGV[#ARGV]
  if raw == nil or raw == '' then return nil end
  return cjson.decode(raw)
end

-- What the first change with this key recorded (its result), or nil when the key is new;
-- the second value is true when the key was used for another change (another scope, or a
-- request created with it).
local function idem_seen()
  local idem = idem_arg()
  if not idem then return nil, false end
  local stored = redis.call('GET', K.idempotency(idem.user, idem.key))
  if not stored then return nil, false end
  local parsed, earlier = pcall(cjson.decode, stored)
  if not parsed or type(earlier) ~= 'table' or earlier.scope ~= idem.scope then
    return nil, true
  end
  return earlier.result, false
end

-- Records `result` (a request id, or a message's JSON) under the key, when there is one.
local function idem_record(result)
  local idem = idem_arg()
  if not idem then return end
  redis.call('SET', K.idempotency(idem.user, idem.key),
             cjson.encode({scope = idem.scope, result = result}), 'EX', idem.ttl_s)
end

-- A script's `answer`, recording `result` under the key when the answer is a success.
local function idem_keep(answer, result)
  if cjson.decode(answer).ok then idem_record(result) end
  return answer
end

-- The guard every idempotent script starts with: the answer to a repeat of its change
-- (`repeated(result)` of what the first change recorded; by default the request as it now
-- stands, `repeated`), a refusal when the key was used for another change, or nil when the
-- key is new and the change goes ahead.
local function idem_repeat(repeated)
  local seen, reused = idem_seen()
  if reused then return fail('idempotency_key_reused') end
  if seen and repeated then return repeated(seen) end
  if seen then return done(seen, {repeated = true}) end
  return nil
end
