// Lua of the Redis entity store. Every mutation is one script: it checks the fencing token (when
// the write carries one), the compare-and-set conditions, then applies the whole change (a moved
// subtree included) or nothing.
//
// Calling convention:
//   KEYS[1] meta (seq, clock)   KEYS[2..6] version, lastModified, parent, root, data (hashes by id)
//   KEYS[7] ids (sorted set: creation order)
//   KEYS[8], KEYS[9] the fence's target holders and meta keys (see keys.ts), or two unused keys
//                    of the store when the write carries no fence
//   ARGV[1] '' (Redis TIME) or microseconds (tests)   ARGV[2] key base of per-entity keys
//   ARGV[3] versions kept per entity (0: all)          ARGV[4] fencing token, or ''
//   ARGV[5] the write's id, or '': a write whose reply was lost and that the client sends again
//           (ioredis resends unanswered commands after a reconnect) returns the first result
//           instead of applying twice (kept 2 minutes)
// Per-entity keys (history list `<base>h:<id>`, children sorted set `<base>k:<id>`) share the
// store's hash tag, so the store stays in one slot.
//
// Replies: { 'ok', … } or { 'err', code, … } (never a Redis error, so a pipeline's other
// commands are unaffected).

const STORE_COMMON_LUA = `
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(n) return string.format('%.17g', n) end
local BASE = ARGV[2]
local MAXH = tonumber(ARGV[3])
local function hkey(id) return BASE .. 'h:' .. id end
local function kkey(id) return BASE .. 'k:' .. id end

-- nil when the write may go on, else the error reply. The holder record is
-- effectivePriority|priority|startedAt|expiresAt|owner|id (see the target scripts).
local function check_fence(now)
  local token = ARGV[4]
  if token == '' then return nil end
  local current = redis.call('HGET', KEYS[9], 'fence') or ''
  local raw = redis.call('HGET', KEYS[8], token)
  if raw then
    local expires = tonumber(string.match(raw, '^[^|]*|[^|]*|[^|]*|([^|]*)|'))
    if expires > now then return nil end
    return { 'err', 'stale-fence', 'expired', current }
  end
  if current ~= '' and tonumber(current) > tonumber(token) then
    return { 'err', 'stale-fence', 'superseded', current }
  end
  return { 'err', 'stale-fence', 'released', current }
end

-- Strictly increasing per store, even if Redis time stands still or steps back.
local function stamp(now)
  local last = tonumber(redis.call('HGET', KEYS[1], 'clock'))
  local t = now
  if last and last >= t then t = last + 1 end
  redis.call('HSET', KEYS[1], 'clock', num(t))
  return t
end

local function load(id)
  local v = redis.call('HGET', KEYS[2], id)
  if not v then return nil end
  return { id = id, v = tonumber(v), t = tonumber(redis.call('HGET', KEYS[3], id)),
           p = redis.call('HGET', KEYS[4], id) or false, r = redis.call('HGET', KEYS[5], id),
           d = redis.call('HGET', KEYS[6], id) }
end

local function entry(e)
  return cjson.encode({ id = e.id, v = num(e.v), t = num(e.t), p = e.p or '', r = e.r, d = e.d })
end

local function write(e, t)
  e.t = t
  redis.call('HSET', KEYS[2], e.id, num(e.v))
  redis.call('HSET', KEYS[3], e.id, num(t))
  if e.p then redis.call('HSET', KEYS[4], e.id, e.p) else redis.call('HDEL', KEYS[4], e.id) end
  redis.call('HSET', KEYS[5], e.id, e.r)
  redis.call('HSET', KEYS[6], e.id, e.d)
  local out = entry(e)
  redis.call('RPUSH', hkey(e.id), out)
  if MAXH > 0 then redis.call('LTRIM', hkey(e.id), -MAXH, -1) end
  return out
end

local function is_ancestor(candidate, of)
  local cur = redis.call('HGET', KEYS[4], of)
  while cur do
    if cur == candidate then return true end
    cur = redis.call('HGET', KEYS[4], cur)
  end
  return false
end

-- Moves e (and its subtree) under parent (false: makes it a root). Every entity whose parent or
-- root changes gets a new version, all at time t: one change.
local function move(e, parent, t)
  if e.p then redis.call('ZREM', kkey(e.p), e.id) end
  local root = e.id
  if parent then
    redis.call('ZADD', kkey(parent), redis.call('HINCRBY', KEYS[1], 'seq', 1), e.id)
    root = redis.call('HGET', KEYS[5], parent)
  end
  local old = e.r
  e.v = e.v + 1
  e.p = parent
  e.r = root
  local out = write(e, t)
  if root ~= old then
    local stack = redis.call('ZRANGE', kkey(e.id), 0, -1)
    while #stack > 0 do
      local d = load(table.remove(stack))
      if d then
        d.v = d.v + 1
        d.r = root
        write(d, t)
        for _, g in ipairs(redis.call('ZRANGE', kkey(d.id), 0, -1)) do stack[#stack + 1] = g end
      end
    end
  end
  return out
end

local function replay()
  if ARGV[5] == '' then return nil end
  local done = redis.call('GET', BASE .. 'w:' .. ARGV[5])
  if done then return { 'ok', done } end
  return nil
end

local function remember(out)
  if ARGV[5] ~= '' then redis.call('SET', BASE .. 'w:' .. ARGV[5], out, 'PX', 120000) end
  return { 'ok', out }
end

local function expect_version(e, expected)
  if expected ~= '' and tonumber(expected) ~= e.v then
    return { 'err', 'conflict', e.id, expected, num(e.v) }
  end
  return nil
end
`;

/** CREATE. ARGV: 6 id, 7 parentId or '', 8 data. Reply: ok + entry. */
export const STORE_CREATE_LUA = `${STORE_COMMON_LUA}
local now = now_us()
local replayed = replay()
if replayed then return replayed end
local id, parent = ARGV[6], ARGV[7]
if redis.call('HEXISTS', KEYS[2], id) == 1 then return { 'err', 'exists', id } end
local root = id
if parent ~= '' then
  root = redis.call('HGET', KEYS[5], parent)
  if not root then return { 'err', 'missing', 'parentId', parent } end
end
local f = check_fence(now)
if f then return f end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[7], seq, id)
if parent ~= '' then redis.call('ZADD', kkey(parent), seq, id) end
return remember(write({ id = id, v = 0, p = parent ~= '' and parent or false, r = root, d = ARGV[8] }, stamp(now)))
`;

/**
 * WRITE: a new version of one entity. ARGV: 6 id, 7 expected version or '', 8 new data or ''
 * (keep the data: a forced version), 9.. (id, version) conditions on other entities (borrow's
 * source). Reply: ok + entry.
 */
export const STORE_WRITE_LUA = `${STORE_COMMON_LUA}
local now = now_us()
local replayed = replay()
if replayed then return replayed end
local e = load(ARGV[6])
if not e then return { 'err', 'missing', 'id', ARGV[6] } end
for i = 9, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then return { 'err', 'missing', 'sourceId', ARGV[i] } end
end
local f = check_fence(now)
if f then return f end
local c = expect_version(e, ARGV[7])
if c then return c end
for i = 9, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  if tonumber(v) ~= tonumber(ARGV[i + 1]) then return { 'err', 'conflict', ARGV[i], ARGV[i + 1], v } end
end
e.v = e.v + 1
if ARGV[8] ~= '' then e.d = ARGV[8] end
return remember(write(e, stamp(now)))
`;

/**
 * MOVE: `root` (promoteToRoot), `attach` (under ARGV[8]) or `detach`. ARGV: 6 op, 7 id,
 * 8 parentId or '', 9 expected version or ''. Reply: ok + entry (unchanged for a no-op).
 */
export const STORE_MOVE_LUA = `${STORE_COMMON_LUA}
local now = now_us()
local replayed = replay()
if replayed then return replayed end
local op, id, parent = ARGV[6], ARGV[7], ARGV[8]
local e = load(id)
if not e then return { 'err', 'missing', op == 'attach' and 'childId' or 'id', id } end
if op == 'attach' and redis.call('HEXISTS', KEYS[2], parent) == 0 then return { 'err', 'missing', 'parentId', parent } end
local f = check_fence(now)
if f then return f end
local c = expect_version(e, ARGV[9])
if c then return c end
if op == 'attach' then
  if parent == id or is_ancestor(id, parent) then return { 'err', 'cycle', id, parent } end
  if e.p == parent then return { 'ok', entry(e) } end
  return remember(move(e, parent, stamp(now)))
end
if not e.p then
  if op == 'detach' then return { 'err', 'root', id } end
  return { 'ok', entry(e) }
end
return remember(move(e, false, stamp(now)))
`;

/** DELETE: the entity and its history; its children become roots. ARGV: 6 id, 7 expected version or ''. Reply: ok + '1' | '0'. */
export const STORE_DELETE_LUA = `${STORE_COMMON_LUA}
local now = now_us()
local replayed = replay()
if replayed then return replayed end
local id = ARGV[6]
local e = load(id)
if not e then return { 'ok', '0' } end
local f = check_fence(now)
if f then return f end
local c = expect_version(e, ARGV[7])
if c then return c end
if e.p then redis.call('ZREM', kkey(e.p), id) end
for _, child in ipairs(redis.call('ZRANGE', kkey(id), 0, -1)) do
  local d = load(child)
  if d then move(d, false, stamp(now)) end
end
for i = 2, 6 do redis.call('HDEL', KEYS[i], id) end
redis.call('ZREM', KEYS[7], id)
redis.call('DEL', hkey(id), kkey(id))
return remember('1')
`;

/** READ (read-only): current entries. ARGV: 6.. ids. Reply: per id its entry or ''. */
export const STORE_READ_LUA = `${STORE_COMMON_LUA}
local out = {}
for i = 6, #ARGV do
  local e = load(ARGV[i])
  out[#out + 1] = e and entry(e) or ''
end
return out
`;
