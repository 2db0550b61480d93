-- The first ARGV[3] waiting requests in service order, each with its queue score and health
-- board ('' for none), read in Redis: the sweeper's one round trip, however many wait.
-- ARGV: prefix, now, limit. Answers {waiting = {{id, score, board}, ...}} (scores as text).
local found = redis.call('ZRANGE', K.queue, 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
local waiting = {}
for i = 1, #found, 2 do
  local board = redis.call('HGET', K.request(found[i]), 'board') or ''
  waiting[#waiting + 1] = {found[i], found[i + 1], board}
end
return cjson.encode({waiting = waiting})
