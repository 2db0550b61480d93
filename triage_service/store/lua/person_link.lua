-- include: _answers _events _counters _sessions _person
-- The clinician in session judges a possible match among their request's earlier contacts
-- (DOMAIN.md "Previous contacts"): `confirmed` (the same person) or `rejected` (another
-- person: unlinked, so the repeat counts no longer rest on it and, when the two requests
-- shared a person key, this one takes a key of its own, so the exports no longer join them).
-- A CHI match is a match, not judged; a rejection stands. The verdict is audited in this step.
-- ARGV: prefix, now, id, clinician_id, contact_id, verdict ('confirmed' | 'rejected'),
--       own_key (the person key this request takes when a rejection splits a shared one)
local id, clinician, contact, verdict = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local rkey = K.request(id)
local status, refused = in_session_with(id, clinician)
if not status then return refused end
local links = K.person_links(id)
local function linked(by) return redis.call('ZSCORE', links, by .. ':' .. contact) end
if linked('chi') then return fail('chi_match') end
if linked(verdict) then return ok({contact_id = contact, verdict = verdict, repeated = true}) end
local was = linked('name_dob') and 'name_dob'
if not was and verdict == 'rejected' and linked('confirmed') then was = 'confirmed' end
if not was then return fail(linked('rejected') and 'match_rejected' or 'not_linked') end
local score = linked(was)
redis.call('ZREM', links, was .. ':' .. contact)
redis.call('ZADD', links, score, verdict .. ':' .. contact)
if verdict == 'rejected' then
  counting(id)
  person_repeat(id, tonumber(redis.call('HGET', rkey, 'created_ms')))
  local own = redis.call('HGET', rkey, 'person_key')
  if own and own == redis.call('HGET', K.request(contact), 'person_key') then
    redis.call('HSET', rkey, 'person_key', ARGV[7])
  end
end
audit('match_' .. verdict, id, clinician, 'clinician', {'contact_id', contact})
return ok({contact_id = contact, verdict = verdict})
