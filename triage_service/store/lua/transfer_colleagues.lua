-- include: _answers _transfers
-- The colleagues the clinician in session could transfer request `id` to now (read only):
-- every clinician `colleague_problem` finds nothing against, with their name and boards.
-- ARGV: prefix, now, id, clinician_id
local found = {}
local states = redis.call('HGETALL', K.clin_state)
for i = 1, #states, 2 do
  local user = states[i]
  if states[i + 1] == 'available' and not colleague_problem(ARGV[3], ARGV[4], user) then
    local row = redis.call('HMGET', K.user(user), 'display_name', 'boards')
    found[#found + 1] = {id = user, display_name = row[1] or '', boards = row[2] or ''}
  end
end
return ok({colleagues = found})
