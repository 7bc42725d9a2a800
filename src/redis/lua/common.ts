// Lua shared by the target scripts. Redis runs Lua 5.1: `tostring` of a number keeps only 14
// significant digits, so every number written back to Redis or into JSON goes through `num`
// (`%.17g`, which round-trips any double, and prints integers such as microsecond times exactly).
//
// Calling convention of every target script:
//   KEYS[1..5] = meta, candidates, holders, outcomes, decisions (see keys.ts)
//   ARGV[1]    = '' (use Redis TIME) or a time in microseconds (tests inject their clock)
//   ARGV[2]    = milliseconds after which a key nobody writes expires
//
// Each script defines only the helpers it uses (Redis runs the whole script body, local function
// definitions included, on every call).

/** Time and number formatting: every script. */
export const BASE_LUA = `
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function num(n)
  return string.format('%.17g', n)
end

-- Each script refreshes the expiry of the keys it wrote (by index). A key nobody writes for
-- idleTtl goes away; the keys of a target need not go together (a new fencing token is seeded
-- from Redis time, so tokens stay monotonic even after the meta key expired).
local function touch(...)
  for _, i in ipairs({ ... }) do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
`;

/** Candidate records. */
export const CANDIDATE_LUA = `
-- candidate record: effectivePriority|priority|order|expiresAt|owner|type (type last: it may hold '|')
local function parse_candidate(id, v)
  local eff, prio, ord, exp, owner, typ = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return { id = id, eff = tonumber(eff), prio = tonumber(prio), order = tonumber(ord),
           expires = tonumber(exp), owner = owner, type = typ }
end

local function candidate_record(eff, prio, ord, exp, owner, typ)
  return eff .. '|' .. prio .. '|' .. ord .. '|' .. exp .. '|' .. owner .. '|' .. typ
end
`;

/** Holder records. */
export const HOLDER_LUA = `
-- holder record (field: fencing token): effectivePriority|priority|startedAt|expiresAt|owner|id
local function parse_holder(token, v)
  local eff, prio, st, exp, owner, id = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return { token = tonumber(token), field = token, eff = tonumber(eff), prio = tonumber(prio),
           startedAt = tonumber(st), expires = tonumber(exp), owner = owner, id = id }
end

local function holder_record(h)
  return num(h.eff) .. '|' .. num(h.prio) .. '|' .. num(h.startedAt) .. '|' .. num(h.expires) .. '|' .. h.owner .. '|' .. h.id
end

-- (needs HOLDER_LUA) The holders whose lease is still running; expired ones are deleted on the way (their process
-- stopped renewing: it died or lost the connection).
local function live_holders(now)
  local raw = redis.call('HGETALL', KEYS[3])
  local list = {}
  for i = 1, #raw, 2 do
    local h = parse_holder(raw[i], raw[i + 1])
    if h.expires <= now then
      redis.call('HDEL', KEYS[3], raw[i])
    else
      list[#list + 1] = h
    end
  end
  return list
end

`;

/** Outcomes and decisions handed to a caller. */
export const OUTCOME_LUA = `
-- A decided id's outcome: the window that decided it (the decision is kept under that window in
-- KEYS[5]), or false. Reading does not consume it: a reply lost with a connection loses nothing,
-- the next call reads it again. Outcomes go with their window (keepWindows).
local function read_outcome(id, windows)
  local w = redis.call('ZSCORE', KEYS[4], id)
  if not w then return false end
  windows[w] = true
  return w
end

local function append_decisions(reply, windows)
  local list = {}
  for w in pairs(windows) do list[#list + 1] = w end
  reply[#reply + 1] = tostring(#list)
  for _, w in ipairs(list) do
    reply[#reply + 1] = w
    reply[#reply + 1] = redis.call('HGET', KEYS[5], w) or ''
  end
end
`;
