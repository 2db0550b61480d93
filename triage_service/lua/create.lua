-- Creates a waiting request, honouring an idempotency key.
-- ARGV: prefix, now, id, officer_id, idem_key ('' for none), idem_ttl_s, expire_at_ms,
--       fields (JSON object of hash fields)
local id, officer, idem = ARGV[3], ARGV[4], ARGV[5]
local idem_key = key('idem:' .. officer .. ':' .. idem)
if idem ~= '' then
  local existing = redis.call('GET', idem_key)
  if existing then return ok({id = existing, created = false}) end
end
local fields = cjson.decode(ARGV[8])
local flat = {}
for name, value in pairs(fields) do
  flat[#flat + 1] = name
  flat[#flat + 1] = tostring(value)
end
redis.call('HSET', key('req:' .. id), unpack(flat))
redis.call('ZADD', key('queue'), fields.score, id)
redis.call('ZADD', key('officer:' .. officer .. ':reqs'), NOW, id)
redis.call('ZADD', key('reqs:created'), NOW, id)
redis.call('ZADD', key('due'), ARGV[7], 'expire:' .. id)
if idem ~= '' then redis.call('SET', idem_key, id, 'EX', ARGV[6]) end
count(NOW, 'requests')
count(NOW, 'prio:' .. fields.priority)
count(NOW, 'area:' .. (fields.area or ''))
count(NOW, 'mode:' .. fields.mode)
redis.call('SADD', key('stats:hours'), bucket(NOW))
event('created', id, officer, 'officer', {'priority', fields.priority, 'area', fields.area or ''})
return ok({id = id, created = true})
