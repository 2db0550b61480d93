-- Shared by every lifecycle script (prepended at load time, after the key names `K` that
-- store/keys.py renders from ARGV[1], the key prefix).
-- ARGV[2] is the current time in epoch milliseconds.
local NOW = tonumber(ARGV[2])

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

-- Appends one lifecycle event; `fields` is a flat list of name, value pairs.
local function event(kind, request_id, actor, role, fields)
  local entry = {'type', kind, 'request_id', request_id, 'actor', actor, 'role', role,
                 'at', tostring(NOW)}
  for _, v in ipairs(fields or {}) do entry[#entry + 1] = tostring(v) end
  redis.call('XADD', K.events, '*', unpack(entry))
  redis.call('PUBLISH', K.wake, cjson.encode({type = kind, request_id = request_id,
                                                    actor = actor}))
end

-- Statistics counters: one hash per hour of request creation (`stats:h:{hour}`; the
-- heat map's area by hour-of-week cells in `stats:hw:{hour}`), so a window's figures never
-- need a scan of every record. Each hour is also added into the aligned blocks of 2, 4, ...
-- 2^10 hours that contain it (`stats:h:L{level}:{hour >> level}`), so any window reads at
-- most two blocks per level, and each request into its 5-minute slice
-- (`stats:h:S:{created_ms // 300000}`) and its minute (`stats:h:M:{created_ms // 60000}`)
-- for the partial hours at a window's edges.
-- A duration counts its sum and its 4096 s bin (`{kind}_b:{s // 4096}`) there; its whole
-- second `s` also goes, as `{s}:{request id}` scored by the request's creation time, into
-- the sorted sets of its 4096 s, 256 s and 16 s bins and its second
-- (`stats:{kind}:{w}s:{s // w}`), so a percentile counts a window's values in any bin with
-- one ZCOUNT, 16 bins at a time down to the second (lua/stats_bins.lua), whatever the number
-- of values or the window's length.
local STATS_LEVELS = 10

local function bucket(created_ms) return math.floor(tonumber(created_ms) / 3600000) end

local function stats_key(kind, h, level)
  if level == 0 then return K.stats(kind .. ':' .. h) end
  return K.stats(kind .. ':L' .. level .. ':' .. math.floor(h / 2 ^ level))
end

local stats_keys_seen = {}

-- The keys of every block holding a request created at `created_ms`, then its slice's and
-- its minute's.
local function stats_keys(kind, created_ms)
  local name = kind .. ':' .. created_ms
  local keys = stats_keys_seen[name]
  if not keys then
    local h = bucket(created_ms)
    keys = {}
    for level = 0, STATS_LEVELS do keys[level + 1] = stats_key(kind, h, level) end
    keys[#keys + 1] = K.stats(kind .. ':S:' .. math.floor(tonumber(created_ms) / 300000))
    keys[#keys + 1] = K.stats(kind .. ':M:' .. math.floor(tonumber(created_ms) / 60000))
    stats_keys_seen[name] = keys
  end
  return keys
end

-- Adds `n` to `field` in every block, slice and minute holding `created_ms`.
local function add_all_levels(kind, created_ms, field, n)
  for _, name in ipairs(stats_keys(kind, created_ms)) do redis.call('HINCRBY', name, field, n) end
end

-- The health board of the request being counted: every counter is also added as
-- `b:{board}:{field}` (and every duration into `stats:{kind}@{board}:...`), so a board's
-- figures never need a scan. Scripts set it with `counting(id)` before they count.
local BOARD = ''

local function counting(id)
  BOARD = redis.call('HGET', K.request(id), 'board') or ''
end

local function count(created_ms, field, n)
  add_all_levels('h', created_ms, field, n or 1)
  if BOARD ~= '' then add_all_levels('h', created_ms, 'b:' .. BOARD .. ':' .. field, n or 1) end
end

-- The counters a filed outcome adds (lua/outcome.lua; lua/stats.lua and stats_rebuild.lua
-- recompute them alike from the record). Per area id, the detentions (`adet:`) and the
-- conveyances to an emergency department (`aed:`) beside the requests (`area:`): the
-- supervisor's upstream view, where and when street triage is most needed.
local DETENTIONS = {place_of_safety_s297 = true, medical_examination_detention = true}

local function outcome_fields(r)
  local disposition = r.disposition
  local fields = {'completed', 'disp:' .. disposition, 'code:' .. r.triage_code,
                  'conv:' .. r.conveyance}
  if r.overridden and r.overridden ~= '' then fields[#fields + 1] = 'overrides' end
  if disposition ~= 'emergency_department' and disposition ~= 'not_completed'
     and r.conveyance ~= 'ambulance' then
    fields[#fields + 1] = 'conveyance_avoided'
  end
  if DETENTIONS[disposition] then fields[#fields + 1] = 'adet:' .. (r.area_id or '') end
  if disposition == 'emergency_department' then
    fields[#fields + 1] = 'aed:' .. (r.area_id or '')
  end
  return fields
end

local HISTOGRAM_WIDTHS = {4096, 256, 16, 1}

-- Counts the duration `ms` of request `id` (created at `created_ms`) for statistics.
local function observe(kind, id, created_ms, ms)
  local s = math.floor(ms / 1000 + 0.5)
  local sets = {kind}
  if BOARD ~= '' then sets[2] = kind .. '@' .. BOARD end
  for _, name in ipairs(sets) do
    for _, width in ipairs(HISTOGRAM_WIDTHS) do
      redis.call('ZADD', K.stats(name .. ':' .. width .. 's:' .. math.floor(s / width)),
                 created_ms, s .. ':' .. id)
    end
  end
  count(created_ms, kind .. '_b:' .. math.floor(s / 4096))
  count(created_ms, kind .. '_sum_ms', math.floor(ms))
  redis.call('SADD', K.stats_hours, bucket(created_ms))
end

-- Keeps the last 50 values of a duration (in list `list_key`) for the wait estimate.
local function remember(list_key, ms)
  redis.call('LPUSH', list_key, math.floor(ms))
  redis.call('LTRIM', list_key, 0, 49)
end

-- After a clinician's last session ends: back to the availability they had before accepting
-- (unless they changed it during the session).
local function free_clinician(clinician)
  if redis.call('SCARD', K.clinician_sessions(clinician)) > 0 then return end
  local before = redis.call('HGET', K.clin_before, clinician) or 'available'
  redis.call('HDEL', K.clin_before, clinician)
  if redis.call('HGET', K.clin_state, clinician) == 'busy' then
    redis.call('HSET', K.clin_state, clinician, before)
  end
end

-- Routing (domain/routing.py `offered_to`): a waiting request is offered to the clinicians
-- covering its board (`boards` on the account: comma-separated, empty for all) and, from
-- its `overflow_ms` on, to every clinician.
local function covers(clinician)
  local boards = redis.call('HGET', K.user(clinician), 'boards') or ''
  if boards == '' then return nil end
  local set = {}
  for board in string.gmatch(boards, '[^,]+') do set[board] = true end
  return set
end

local function offered(id, boards)
  if not boards then return true end
  local row = redis.call('HMGET', K.request(id), 'board', 'overflow_ms')
  local board, overflow = row[1] or '', tonumber(row[2] or '0') or 0
  return board == '' or boards[board] == true or NOW >= overflow
end

local function accept(id, clinician, clinician_name)
  local rkey = K.request(id)
  local status = redis.call('HGET', rkey, 'status')
  if not status then return fail('not_found') end
  if status == 'waiting' and not offered(id, covers(clinician)) then return fail('not_found') end
  counting(id)
  if status ~= 'waiting' then
    if status == 'in_session' then return fail('already_assigned', status) end
    return fail('not_waiting', status)
  end
  local created = tonumber(redis.call('HGET', rkey, 'created_ms'))
  local wait_ms = NOW - created
  redis.call('HSET', rkey, 'status', 'in_session', 'clinician_id', clinician,
             'clinician_name', clinician_name, 'accepted_ms', NOW)
  redis.call('ZREM', K.queue, id)
  redis.call('ZREM', K.due, 'expire:' .. id)
  redis.call('SADD', K.active, id)
  local before = redis.call('HGET', K.clin_state, clinician)
  if before ~= 'busy' then
    redis.call('HSET', K.clin_before, clinician, before or 'offline')
  end
  redis.call('HSET', K.clin_state, clinician, 'busy')
  redis.call('SADD', K.clinician_sessions(clinician), id)
  remember(K.recent_waits, wait_ms)
  if redis.call('HGET', rkey, 'answered') ~= '1' then
    redis.call('HSET', rkey, 'answered', '1', 'first_wait_ms', wait_ms)
    count(created, 'accepted')
    observe('wait', id, created, wait_ms)
  end
  event('accepted', id, clinician, 'clinician', {'wait_ms', wait_ms})
  return done(id)
end

-- Idempotency: an idempotent script's last ARGV is its change's key, JSON {user, key, scope,
-- ttl_s} (or '' for none), checked first and recorded in the same step as the change, so a
-- retry after a lost answer (or a 503 after the change) gets the first answer again.
local function idem_arg()
  local raw = ARGV[#ARGV]
  if raw == nil or raw == '' then return nil end
  return cjson.decode(raw)
end

-- What the first change with this key recorded (its result), or nil when the key is new;
-- the second value is true when the key was used for another change (another scope, or a
-- request created with it).
local function idem_seen()
  local idem = idem_arg()
  if not idem then return nil, false end
  local stored = redis.call('GET', K.idempotency(idem.user, idem.key))
  if not stored then return nil, false end
  local parsed, earlier = pcall(cjson.decode, stored)
  if not parsed or type(earlier) ~= 'table' or earlier.scope ~= idem.scope then
    return nil, true
  end
  return earlier.result, false
end

-- Records `result` (a request id, or a message's JSON) under the key, when there is one.
local function idem_record(result)
  local idem = idem_arg()
  if not idem then return end
  redis.call('SET', K.idempotency(idem.user, idem.key),
             cjson.encode({scope = idem.scope, result = result}), 'EX', idem.ttl_s)
end

-- A script's `answer`, recording `result` under the key when the answer is a success.
local function idem_keep(answer, result)
  if cjson.decode(answer).ok then idem_record(result) end
  return answer
end

-- The answer to a repeat of a request's change (the request as it now stands, `repeated`),
-- a refusal when the key was used for another change, or nil when the key is new.
local function idem_repeat()
  local seen, reused = idem_seen()
  if reused then return fail('idempotency_key_reused') end
  if seen then return done(seen, {repeated = true}) end
  return nil
end
