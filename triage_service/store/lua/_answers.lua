-- A script's answers: a refusal, a success, a success with the request as it now stands.

local function fail(code, status)
  return cjson.encode({error = code, status = status})
end

local function ok(fields)
  fields = fields or {}
  fields.ok = true
  return cjson.encode(fields)
end

-- Success with the request's hash as it now stands, so the caller need not read it again.
local function done(id, fields)
  local flat = redis.call('HGETALL', K.request(id))
  local record = {}
  for i = 1, #flat, 2 do record[flat[i]] = flat[i + 1] end
  fields = fields or {}
  fields.id = id
  fields.record = record
  return ok(fields)
end
