import { ARBITRATE_LUA } from './arbitrate.js';
import { BASE_LUA, CANDIDATE_LUA, HOLDER_LUA, OUTCOME_LUA } from './common.js';

/**
 * STAGE: adds candidates of one process to the target's window, opening it (at Redis time) when
 * none is open. The window's length and policy are fixed by the process that opens it.
 *
 * A window closes `windowMs` after its first candidate was staged in its process: the opener
 * says how long that candidate waited there before this call was sent (`ARGV[8]`, ms, at most
 * `windowMs`), and the window's end is that much earlier than `now + windowMs`. The wait is a
 * duration measured by one process, never a reading of its clock compared with Redis time.
 *
 * ARGV: 3 windowMs, 4 whileExecuting, 5 gracePeriodMs, 6 stage lease ms, 7 owner, 8 waited ms,
 *       9.. (id, effectivePriority, priority, type, again) per candidate; `again` = '1' stages a
 *       candidate that lost an earlier window once more (its process keeps it for the next one).
 * Reply: window id, microseconds until it closes (≤ 0: overdue), the open window's windowMs,
 * whileExecuting and gracePeriodMs (as the process that opened it set them), Redis time (µs),
 * then per candidate its id and its order, or `staged` (already staged: a repeated call changes
 * nothing) or `decided` (it was decided and is not staged `again`).
 */
export const STAGE_LUA = `${BASE_LUA}${CANDIDATE_LUA}
local now = now_us()
local meta = redis.call('HMGET', KEYS[1], 'win', 'open', 'closes')
local win = tonumber(meta[1]) or 0
local closes = tonumber(meta[3])
if meta[2] ~= '1' then
  win = win + 1
  local wms = tonumber(ARGV[3])
  local waited = math.min(math.max(tonumber(ARGV[8]) or 0, 0), wms)
  closes = now + math.floor((wms - waited) * 1000)
  redis.call('HSET', KEYS[1], 'win', num(win), 'open', '1', 'opened', num(now), 'closes', num(closes),
    'wms', ARGV[3], 'pol', ARGV[4], 'grace', ARGV[5])
end
local expires = num(now + tonumber(ARGV[6]) * 1000)
local owner = ARGV[7]
local set = redis.call('HMGET', KEYS[1], 'wms', 'pol', 'grace')
local reply = { num(win), num(closes - now), set[1] or ARGV[3], set[2] or ARGV[4], set[3] or ARGV[5], num(now) }
for i = 9, #ARGV, 5 do
  local id = ARGV[i]
  reply[#reply + 1] = id
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    reply[#reply + 1] = 'staged'
  elseif ARGV[i + 4] ~= '1' and redis.call('ZSCORE', KEYS[4], id) then
    reply[#reply + 1] = 'decided'
  else
    if ARGV[i + 4] == '1' then redis.call('ZREM', KEYS[4], id) end
    local ord = redis.call('HINCRBY', KEYS[1], 'order', 1)
    redis.call('HSET', KEYS[2], id, candidate_record(ARGV[i + 1], ARGV[i + 2], num(ord), expires, owner, ARGV[i + 3]))
    reply[#reply + 1] = num(ord)
  end
end
touch(1, 2)
return reply
`;

/**
 * CLOSE: closes the target's window `ARGV[3]` once Redis time has reached its end, and reports
 * what became of the caller's candidates. Atomic: at most one caller closes a window; every
 * other caller (any process) reads the recorded decision.
 *
 * Closing: expired holders and expired candidates are dropped, `arbitrate` decides, losers are
 * removed, a starting winner becomes a holder with the next fencing token and a lease of
 * `leaseMs`, preempted holders lose their lease at once (their process hears it on its
 * channel), and a held winner stays staged in a new window that opens right away. The decision
 * is kept (JSON, under its window id) for the last `keepWindows` windows, and each decided id
 * points at it as long: any process may read it again (a reply lost with a connection loses
 * nothing).
 *
 * ARGV: 3 window id, 4 leaseMs, 5 keepWindows, 6 channel prefix, 7 the caller's process id (recorded
 * as `closedBy` when this call closes the window), 8.. the caller's ids.
 * Reply: `early`, window id, microseconds left, Redis time (µs); or `closed`|`already`, the current window id,
 * `1`|`0` (open), microseconds until it closes, Redis time (µs), the number of ids, per id (id, `staged` | the
 * window id that decided it | `unknown`), the number of decisions, per decision (window, JSON):
 * those that decided the caller's ids, and the asked window's. Asking again gives the same answer.
 */
export const CLOSE_LUA = `${BASE_LUA}${CANDIDATE_LUA}${HOLDER_LUA}${OUTCOME_LUA}${ARBITRATE_LUA}
local function cand_json(c)
  return { id = c.id, type = c.type, priority = num(c.prio), effectivePriority = num(c.eff),
           order = num(c.order), owner = c.owner }
end
local function holder_json(h)
  return { id = h.id, token = num(h.token), priority = num(h.prio), effectivePriority = num(h.eff),
           startedAt = num(h.startedAt), owner = h.owner }
end
local function ids(list)
  local out = {}
  for _, c in ipairs(list) do out[#out + 1] = c.id end
  return out
end

local now = now_us()
local meta = redis.call('HMGET', KEYS[1], 'win', 'open', 'closes', 'wms', 'pol', 'grace', 'opened')
local win = tonumber(meta[1]) or 0
local asked = tonumber(ARGV[3])
local status = 'already'
if meta[2] == '1' and asked == win then
  local closes = tonumber(meta[3])
  if now < closes then
    return { 'early', num(win), num(closes - now), num(now) }
  end
  status = 'closed'
  local holders = live_holders(now)
  local raw = redis.call('HGETALL', KEYS[2])
  local cands, dropped = {}, {}
  for i = 1, #raw, 2 do
    local c = parse_candidate(raw[i], raw[i + 1])
    if c.expires <= now then
      redis.call('HDEL', KEYS[2], c.id)
      dropped[#dropped + 1] = c.id
      redis.call('ZADD', KEYS[4], num(win), c.id)
    else
      cands[#cands + 1] = c
    end
  end
  table.sort(cands, function(a, b) return a.order < b.order end)
  table.sort(holders, function(a, b) return a.token < b.token end)
  local d = arbitrate(cands, holders, meta[5], tonumber(meta[6]) * 1000, now)
  local all = {}
  for _, c in ipairs(cands) do all[#all + 1] = cand_json(c) end
  local rec = { window = num(win), openedAt = meta[7], closedAt = num(now), kind = d.kind,
                whileExecuting = meta[5], candidates = all, dropped = dropped, closedBy = ARGV[7] }
  if d.kind ~= 'empty' then
    rec.winner = d.winner.id
    rec.losers = ids(d.losers)
    for _, c in ipairs(d.losers) do
      redis.call('HDEL', KEYS[2], c.id)
      redis.call('ZADD', KEYS[4], num(win), c.id)
    end
  end
  if d.kind == 'start' then
    local w = d.winner
    local last = tonumber(redis.call('HGET', KEYS[1], 'fence'))
    local token = now
    if last then token = last + 1 end
    redis.call('HSET', KEYS[1], 'fence', num(token))
    local lease = now + tonumber(ARGV[4]) * 1000
    redis.call('HDEL', KEYS[2], w.id)
    redis.call('HSET', KEYS[3], num(token), holder_record({ eff = w.eff, prio = w.prio, startedAt = now,
      expires = lease, owner = w.owner, id = w.id }))
    redis.call('ZADD', KEYS[4], num(win), w.id)
    rec.token = num(token)
    rec.leaseExpiresAt = num(lease)
    local preempted = {}
    for _, h in ipairs(d.preempt) do
      redis.call('HDEL', KEYS[3], h.field)
      redis.call('ZADD', KEYS[4], num(win), h.id)
      preempted[#preempted + 1] = holder_json(h)
      redis.call('PUBLISH', ARGV[6] .. h.owner, cjson.encode({ kind = 'preempt', meta = KEYS[1],
        window = num(win), id = h.id, token = num(h.token), effectivePriority = num(h.eff),
        ranMs = num((now - h.startedAt) / 1000), by = cand_json(w) }))
    end
    rec.preempt = preempted
  elseif d.kind == 'hold' then
    local blocked = {}
    for _, h in ipairs(d.blockedBy) do blocked[#blocked + 1] = holder_json(h) end
    rec.blockedBy = blocked
  end
  redis.call('HSET', KEYS[5], num(win), cjson.encode(rec))
  local keep = tonumber(ARGV[5])
  redis.call('HDEL', KEYS[5], num(win - keep))
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', num(win - keep))
  if redis.call('HLEN', KEYS[2]) > 0 then
    win = win + 1
    local wms = tonumber(meta[4])
    redis.call('HSET', KEYS[1], 'win', num(win), 'open', '1', 'opened', num(now), 'closes', num(now + wms * 1000))
  else
    redis.call('HSET', KEYS[1], 'open', '0')
  end
  touch(1, 2, 3, 4, 5)
end

local state = redis.call('HMGET', KEYS[1], 'win', 'open', 'closes')
local left = 0
if state[2] == '1' then left = tonumber(state[3]) - now end
local reply = { status, state[1] or '0', state[2] == '1' and '1' or '0', num(left), num(now), tostring(#ARGV - 7) }
local windows = {}
-- The asked window's decision too: a held winner is still staged, but its process hears the decision.
if ARGV[3] ~= '0' and redis.call('HEXISTS', KEYS[5], ARGV[3]) == 1 then windows[ARGV[3]] = true end
for i = 8, #ARGV do
  local id = ARGV[i]
  reply[#reply + 1] = id
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    reply[#reply + 1] = 'staged'
  else
    reply[#reply + 1] = read_outcome(id, windows) or 'unknown'
  end
end
append_decisions(reply, windows)
return reply
`;

/**
 * RENEW: extends the leases of the caller's holders (by fencing token and id) and the stage
 * leases of its candidates that wait across windows. A lease that has already run out is not
 * renewed: it is deleted and reported `expired`.
 *
 * ARGV: 3 leaseMs, 4 stage lease ms, 5 number of holders, then (token, id) per holder, then
 * candidate ids.
 * Reply: per holder `ok` | `expired` | `lost` | the window id that preempted it; per candidate
 * `ok` | `lost` | the window id that decided it; the number of decisions, per decision (window,
 * JSON).
 */
export const RENEW_LUA = `${BASE_LUA}${CANDIDATE_LUA}${HOLDER_LUA}${OUTCOME_LUA}
local now = now_us()
local n = tonumber(ARGV[5])
local reply = {}
local windows = {}
for i = 6, 5 + 2 * n, 2 do
  local token, id = ARGV[i], ARGV[i + 1]
  local raw = redis.call('HGET', KEYS[3], token)
  local h = raw and parse_holder(token, raw)
  if h and h.id == id and h.expires > now then
    h.expires = now + tonumber(ARGV[3]) * 1000
    redis.call('HSET', KEYS[3], token, holder_record(h))
    reply[#reply + 1] = 'ok'
  elseif h and h.id == id then
    redis.call('HDEL', KEYS[3], token)
    reply[#reply + 1] = 'expired'
  else
    reply[#reply + 1] = read_outcome(id, windows) or 'lost'
  end
end
local expires = num(now + tonumber(ARGV[4]) * 1000)
for i = 6 + 2 * n, #ARGV do
  local id = ARGV[i]
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local c = parse_candidate(id, raw)
    redis.call('HSET', KEYS[2], id, candidate_record(num(c.eff), num(c.prio), num(c.order), expires, c.owner, c.type))
    reply[#reply + 1] = 'ok'
  else
    reply[#reply + 1] = read_outcome(id, windows) or 'lost'
  end
end
append_decisions(reply, windows)
touch(2, 3)
return reply
`;

/**
 * RELEASE: ends a holder's lease; only the holder of that token (same id) can.
 *
 * ARGV: 3 token, 4 id.
 * Reply: `released`, `expired` (its lease had run out, nobody had taken the target yet; now
 * released) or `stale` (no such lease: preempted, expired and taken over, or released before).
 */
export const RELEASE_LUA = `${BASE_LUA}${HOLDER_LUA}
local now = now_us()
local raw = redis.call('HGET', KEYS[3], ARGV[3])
if not raw then return 'stale' end
local h = parse_holder(ARGV[3], raw)
if h.id ~= ARGV[4] then return 'stale' end
redis.call('HDEL', KEYS[3], ARGV[3])
touch(3)
if h.expires <= now then return 'expired' end
return 'released'
`;

/**
 * WITHDRAW: takes the caller's candidates out (cancelled, timed out, or their outcome was lost
 * with a connection). A candidate that has meanwhile won is released instead, so that nobody
 * holds the target for an operation that no longer exists.
 *
 * ARGV: 3.. ids.
 * Reply: per id `withdrawn` | `released` | the window id that decided it | `unknown`; the number
 * of decisions, per decision (window, JSON).
 */
export const WITHDRAW_LUA = `${BASE_LUA}${HOLDER_LUA}${OUTCOME_LUA}
local reply = {}
local windows = {}
local holders = nil
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[2], id) == 1 then
    reply[#reply + 1] = 'withdrawn'
  else
    holders = holders or redis.call('HGETALL', KEYS[3])
    local released = false
    for j = 1, #holders, 2 do
      local h = parse_holder(holders[j], holders[j + 1])
      if h.id == id then
        redis.call('HDEL', KEYS[3], holders[j])
        redis.call('ZREM', KEYS[4], id)
        released = true
      end
    end
    if released then
      reply[#reply + 1] = 'released'
    else
      reply[#reply + 1] = read_outcome(id, windows) or 'unknown'
    end
  end
end
append_decisions(reply, windows)
touch(2, 3)
return reply
`;

/**
 * PEEK (read-only): the target's state for tests, tools and the inspector: meta fields,
 * candidates, holders (with `expired` marks at Redis time).
 *
 * Reply: JSON `{ now, meta: {…}, candidates: [...], holders: [...] }`.
 */
export const PEEK_LUA = `${BASE_LUA}${CANDIDATE_LUA}${HOLDER_LUA}
local now = now_us()
local meta = {}
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do meta[raw[i]] = raw[i + 1] end
local cands = {}
raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw, 2 do
  local c = parse_candidate(raw[i], raw[i + 1])
  cands[#cands + 1] = { id = c.id, type = c.type, priority = num(c.prio), effectivePriority = num(c.eff),
    order = num(c.order), expiresAt = num(c.expires), owner = c.owner }
end
local holders = {}
raw = redis.call('HGETALL', KEYS[3])
for i = 1, #raw, 2 do
  local h = parse_holder(raw[i], raw[i + 1])
  holders[#holders + 1] = { id = h.id, token = num(h.token), priority = num(h.prio),
    effectivePriority = num(h.eff), startedAt = num(h.startedAt), expiresAt = num(h.expires),
    owner = h.owner, expired = h.expires <= now }
end
return cjson.encode({ now = num(now), meta = meta, candidates = cands, holders = holders })
`;
