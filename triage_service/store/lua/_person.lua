-- include: _counters
-- Previous contacts (DOMAIN.md): a request is a repeat presentation within 30 days (within
-- 12 months) when the newest of its earlier contacts that its clinician has not rejected
-- (K.person_links, linked by lua/create.lua) was created at most 30 (365) days before it.
-- Sets the request's `repeat_30d` and `repeat_12m` ('1' or '') and moves their counters by
-- the change, so the create that links and a rejection that unlinks count alike (lua/stats.lua
-- and stats_rebuild.lua recount from the fields). Needs BOARD set (`counting`).
local REPEAT_WITHIN_MS = {repeat_30d = 30 * 86400000, repeat_12m = 365 * 86400000}

local function person_repeat(id, created_ms)
  local newest = nil
  local flat = redis.call('ZREVRANGE', K.person_links(id), 0, -1, 'WITHSCORES')
  for i = 1, #flat, 2 do
    if flat[i]:sub(1, 9) ~= 'rejected:' then
      newest = tonumber(flat[i + 1])
      break
    end
  end
  local rkey = K.request(id)
  for field, within in pairs(REPEAT_WITHIN_MS) do
    local now = (newest and created_ms - newest <= within) and '1' or ''
    if now ~= (redis.call('HGET', rkey, field) or '') then
      count(created_ms, field, now == '1' and 1 or -1)
      redis.call('HSET', rkey, field, now)
    end
  end
end
