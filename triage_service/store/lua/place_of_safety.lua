-- include: _now _answers _events
-- s298: the filing clinician or a supervisor of the board records when the person's
-- detention in the place of safety ended and what the medical examination found; each field
-- given replaces the stored one, with its time and event, in one step.
-- ARGV: prefix, now, id, change (JSON: actor, role, and any of ended_ms, result, note)
local id = ARGV[3]
local change = cjson.decode(ARGV[4])
local rkey = K.request(id)
local notice = redis.call('HGET', rkey, 'notice_id')
if not notice or notice == '' then return fail('not_found') end
local set = {'pos_updated_ms', NOW}
for _, name in ipairs({'ended_ms', 'result', 'note'}) do
  if change[name] ~= nil and change[name] ~= cjson.null then
    set[#set + 1] = 'pos_' .. name
    set[#set + 1] = tostring(change[name])
  end
end
redis.call('HSET', rkey, unpack(set))
event('place_of_safety_updated', id, change.actor, change.role, {'notice_id', notice})
return done(id)
