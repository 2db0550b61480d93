-- Read-only: one page of a board's report month (report/records.py). The requests created
-- in [from_ms, to_ms) at offsets [offset, offset + count) of the creation index; those of
-- `board`, each as the fields the report counts (REQUEST, '' where absent), then its
-- referral's and its s298 notice's (FOLLOW each), then '1' when it was an s297 removal held
-- in a police station. Nothing else leaves: no name, free text or place below the area.
-- ARGV: prefix, now, from_ms, to_ms, board, offset, count
-- Returns {rows = [[id, ...]], scanned = ids read} (rows as an object when empty: cjson).
local REQUEST = {'status', 'board', 'created_ms', 'area_id', 'age_band', 'sex', 'answered',
                 'first_wait_ms', 'accepted_ms', 'completed_ms', 'officer_released_ms',
                 'disposition', 'referral_id', 'notice_id', 'useful', 'time_saved_min',
                 'counterfactual', 'repeat_30d', 'repeat_12m'}
local FOLLOW = {'service', 'status', 'due_ms', 'updated_ms', 'accepted_ms'}
local AT = {}
for i, name in ipairs(REQUEST) do AT[name] = i end

local function add_follow_up(row, id)
  local values = id and id ~= '' and redis.call('HMGET', K.referral(id), unpack(FOLLOW)) or {}
  for i = 1, #FOLLOW do row[#row + 1] = values[i] or '' end
end

-- The outcome is opened for s297 removals alone, for the police-station flag.
local function held_in_station(id)
  local ok, outcome = pcall(cjson.decode, redis.call('HGET', K.request(id), 'outcome') or '{}')
  local place = ok and type(outcome) == 'table' and outcome.place_of_safety
  return type(place) == 'table' and place.is_police_station == true
end

-- Age band and sex from the form, for records kept before they were stored apart.
local function subject_of(id)
  local ok, form = pcall(cjson.decode, redis.call('HGET', K.request(id), 'form') or '{}')
  local subject = ok and type(form) == 'table' and form.subject or {}
  local age = type(subject.age_band) == 'string' and subject.age_band or 'unknown'
  local sex = type(subject.sex) == 'string' and subject.sex or 'unknown'
  return age, sex
end

local ids = redis.call('ZRANGEBYSCORE', K.reqs_created, ARGV[3], '(' .. ARGV[4],
                       'LIMIT', ARGV[6], ARGV[7])
local rows = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', K.request(id), unpack(REQUEST))
  if v[1] and v[AT.board] == ARGV[5] then
    local row = {id}
    for i = 1, #REQUEST do row[#row + 1] = v[i] or '' end
    if not v[AT.age_band] then
      row[AT.age_band + 1], row[AT.sex + 1] = subject_of(id)
    end
    add_follow_up(row, v[AT.referral_id])
    add_follow_up(row, v[AT.notice_id])
    local station = v[AT.disposition] == 'place_of_safety_s297' and held_in_station(id)
    row[#row + 1] = station and '1' or ''
    rows[#rows + 1] = row
  end
end
return cjson.encode({rows = rows, scanned = #ids})
