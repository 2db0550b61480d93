-- include: _now _answers _events _transfers _idempotency
-- An offer ends without a hand-over: the colleague declines it, or its timer fires
-- (`lapsed`, once it is due). Either way the first clinician keeps the request.
-- ARGV: prefix, now, id, colleague_id ('' for the timer), state (declined|lapsed), idempotency (last)
local again = idem_repeat()
if again then return again end
local id, colleague, state = ARGV[3], ARGV[4], ARGV[5]
local rkey = K.request(id)
local status = redis.call('HGET', rkey, 'status')
if not status then
  redis.call('ZREM', K.due, 'transfer:' .. id)
  return fail('not_found')
end
local offer = {}
for _, name in ipairs(OFFER_FIELDS) do offer[name] = redis.call('HGET', rkey, name) or '' end
if state == 'declined' then
  if offer.transfer_to ~= colleague or not pending_offer(id) then return fail('not_found') end
elseif offer.transfer_to == '' then
  redis.call('ZREM', K.due, 'transfer:' .. id)
  return fail('no_offer', status)
elseif (tonumber(offer.transfer_expires_ms) or 0) > NOW and pending_offer(id) then
  return fail('not_due', status)
end
close_offer(id, offer, state)
local actor = state == 'declined' and colleague or 'system'
audit('transfer_' .. state, id, actor, state == 'declined' and 'clinician' or 'system',
      {'to', offer.transfer_to})
event('transfer_' .. state, id, actor, state == 'declined' and 'clinician' or 'system',
      {'to', offer.transfer_to})
idem_record(id)
return done(id)
