-- include: _rules
-- The counters a filed outcome adds (lua/outcome.lua; lua/stats.lua and stats_rebuild.lua
-- recompute them alike from the record). Per area id, the detentions (`adet:`) and the
-- conveyances to an emergency department (`aed:`) beside the requests (`area:`): the
-- supervisor's upstream view, where and when street triage is most needed. The detentions
-- and what counts as a conveyance avoided come from domain/codes.py (the `_rules` piece).

local function outcome_fields(r)
  local disposition = r.disposition
  local fields = {'completed', 'disp:' .. disposition, 'code:' .. r.triage_code,
                  'conv:' .. r.conveyance}
  if r.overridden and r.overridden ~= '' then fields[#fields + 1] = 'overrides' end
  if conveyance_avoided(disposition, r.conveyance) then
    fields[#fields + 1] = 'conveyance_avoided'
  end
  if DETENTIONS[disposition] then fields[#fields + 1] = 'adet:' .. (r.area_id or '') end
  if disposition == 'emergency_department' then
    fields[#fields + 1] = 'aed:' .. (r.area_id or '')
  end
  return fields
end
