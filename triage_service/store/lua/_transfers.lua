-- include: _now _clinicians _accept
-- Transfers of a request in session to a named colleague (lua/transfer_offer.lua,
-- lua/transfer_accept.lua, lua/transfer_end.lua): the pending offer lives in the request's
-- hash (`transfer_*` fields) with its lapse timer `transfer:{id}` in `due`.

local OFFER_FIELDS = {'transfer_to', 'transfer_to_name', 'transfer_from', 'transfer_from_name',
                      'transfer_note', 'transfer_offered_ms', 'transfer_expires_ms'}

-- The pending offer of request `id` (a table of its fields), or nil when there is none or it
-- is stale: lapsed, or made in a session that is over (released, filed, handed on).
local function pending_offer(id)
  local rkey = K.request(id)
  local row = redis.call('HMGET', rkey, 'status', 'clinician_id', unpack(OFFER_FIELDS))
  local offer = {}
  for i, name in ipairs(OFFER_FIELDS) do offer[name] = row[i + 2] or '' end
  if offer.transfer_to == '' then return nil end
  if row[1] ~= 'in_session' or row[2] ~= offer.transfer_from then return nil end
  if (tonumber(offer.transfer_expires_ms) or 0) <= NOW then return nil end
  return offer
end

-- Why `colleague` cannot take request `id` from `clinician` now (nil: they can): not a
-- clinician, the same person, not on duty (available with a live socket), not covering the
-- request's board (before its overflow), or in a session of their own.
local function colleague_problem(id, clinician, colleague)
  if colleague == clinician then return 'same_clinician' end
  local account = redis.call('HMGET', K.user(colleague), 'role', 'disabled')
  if account[1] ~= 'clinician' or (account[2] and account[2] ~= '' and account[2] ~= '0') then
    return 'not_a_clinician'
  end
  if redis.call('HGET', K.clin_state, colleague) ~= 'available'
     or redis.call('ZCOUNT', K.leases(colleague), '(' .. NOW, '+inf') == 0 then
    return 'not_on_duty'
  end
  if not offered(id, covers(colleague)) then return 'not_covering_board' end
  if redis.call('SCARD', K.clinician_sessions(colleague)) > 0 then return 'in_session' end
  return nil
end

-- Ends the offer of request `id` (accepted, declined, lapsed) and its timer; tells both
-- clinicians (`transfer` wake-up: each instance re-reads nothing, the state is the news).
local function close_offer(id, offer, state)
  redis.call('HDEL', K.request(id), unpack(OFFER_FIELDS))
  redis.call('ZREM', K.due, 'transfer:' .. id)
  redis.call('PUBLISH', K.wake, cjson.encode({
    type = 'transfer', request_id = id, state = state,
    to = {offer.transfer_from, offer.transfer_to},
    from_id = offer.transfer_from, from_name = offer.transfer_from_name,
    colleague_id = offer.transfer_to, colleague_name = offer.transfer_to_name}))
end
