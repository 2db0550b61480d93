-- include: _now
-- The record of every step: the lifecycle event (with its wake-up) and the access log.

-- Appends one lifecycle event; `fields` is a flat list of name, value pairs.
local function event(kind, request_id, actor, role, fields)
  local entry = {'type', kind, 'request_id', request_id, 'actor', actor, 'role', role,
                 'at', tostring(NOW)}
  for _, v in ipairs(fields or {}) do entry[#entry + 1] = tostring(v) end
  redis.call('XADD', K.events, '*', unpack(entry))
  redis.call('PUBLISH', K.wake, cjson.encode({type = kind, request_id = request_id,
                                                    actor = actor}))
end

-- Appends a write to the access log (service/audit.py reads it) in the step that made it:
-- who, in which role, what, on which request; `extra`: flat name, value pairs
-- (`referral_id`, `alarm_id`, `change`).
local function audit(action, request_id, actor, role, extra)
  local entry = {'at', tostring(NOW), 'user_id', actor, 'role', role, 'action', action,
                 'request_id', request_id or ''}
  for _, v in ipairs(extra or {}) do entry[#entry + 1] = tostring(v) end
  redis.call('XADD', K.audit, '*', unpack(entry))
end
