/**
 * The coordinator's logic (src/distributed/coordinator.ts) ported to Lua, so that every change
 * to a lock's or semaphore's state is one atomic script inside Redis: no process ever reads,
 * decides and writes from its side, and every process shares Redis's clock.
 *
 * One resource is one string key holding the JSON of coordinator.ts's `Resource`
 * (`permits`, `lastToken`, `holders`, `waiters`), changed in the same order as `#update`:
 * expire, change, promote, write, wake. Numbers are written with `%.17g`, which reads back
 * as the same double: cjson's own encoder keeps 14 digits, and a number returned from a
 * script is cut to an integer, so replies are strings too. A resource with a token is never
 * deleted: its counter must keep rising.
 *
 * Redis has no alarm: expiries happen when a script touches the resource. Waiters therefore
 * call again when the earliest holder lease runs out (the `deadline` of a waiting reply);
 * see coordinator.ts in this folder.
 */
import { LuaScript } from './client.ts'

/**
 * Shared head of the resource scripts. KEYS[1]: the resource's key. ARGV[1]: the channel
 * waking the object's waiters; ARGV[2]: the resource's name (carried in wake messages);
 * ARGV[3]: the time in ms, or '' for Redis's clock (`TIME`, whole ms like `Date.now()`).
 *
 * Wake messages are JSON, `{"name":…,"touched":[ids],"granted":[[id,token,expiresAt],…]}`,
 * one per script that granted, cancelled or expired a waiter: the ids whose long poll may be
 * waiting. A holder has none (coordinator.ts wakes released and expired holders too, for
 * nobody), so a plain release publishes nothing. They go out with SPUBLISH: a shard channel
 * is routed by its hash tag like a key, so on Redis Cluster the message stays on the shard
 * that owns the object's keys instead of being broadcast to every node.
 */
const HEAD = `
local key, channel, name = KEYS[1], ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(x) return string.format('%.17g', x) end
local stored = redis.call('GET', key)
`

/**
 * The rest of the shared head: the state decoded (cjson), expired, and the helpers that change
 * and write it. The fast paths below run before it and skip it.
 */
const PRELUDE = `${HEAD}
local function str(s) return cjson.encode(s) end
local r
if stored then r = cjson.decode(stored)
else r = { permits = 1, lastToken = 0, holders = {}, waiters = {} } end
local changed, touched, granted = false, {}, {}

local function alive(list, wake)
  local kept = {}
  for _, e in ipairs(list) do
    if e.expiresAt > now then kept[#kept + 1] = e
    else
      changed = true
      if wake then touched[#touched + 1] = e.id end
    end
  end
  return kept
end
r.holders = alive(r.holders, false)
r.waiters = alive(r.waiters, true)

local function find(list, id)
  for i, e in ipairs(list) do
    if e.id == id then return i, e end
  end
end

local function encode()
  local h, w = {}, {}
  for i, e in ipairs(r.holders) do
    h[i] = '{"id":' .. str(e.id) .. ',"token":' .. num(e.token) .. ',"expiresAt":' .. num(e.expiresAt) .. '}'
  end
  for i, e in ipairs(r.waiters) do
    w[i] = '{"id":' .. str(e.id) .. ',"expiresAt":' .. num(e.expiresAt) .. ',"leaseMs":' .. num(e.leaseMs) .. '}'
  end
  return '{"permits":' .. num(r.permits) .. ',"lastToken":' .. num(r.lastToken)
    .. ',"holders":[' .. table.concat(h, ',') .. '],"waiters":[' .. table.concat(w, ',') .. ']}'
end

local function finish()
  while #r.holders < r.permits and #r.waiters > 0 do
    local w = table.remove(r.waiters, 1)
    r.lastToken = r.lastToken + 1
    local h = { id = w.id, token = r.lastToken, expiresAt = now + w.leaseMs }
    r.holders[#r.holders + 1] = h
    granted[#granted + 1] = h
  end
  if (changed or #granted > 0) and (r.lastToken > 0 or #r.waiters > 0) then
    redis.call('SET', key, encode())
  end
  if #touched > 0 or #granted > 0 then
    local t, g = {}, {}
    for i, id in ipairs(touched) do t[i] = str(id) end
    for i, h in ipairs(granted) do
      g[i] = '[' .. str(h.id) .. ',' .. num(h.token) .. ',' .. num(h.expiresAt) .. ']'
    end
    redis.call('SPUBLISH', channel, '{"name":' .. str(name) .. ',"touched":['
      .. table.concat(t, ',') .. '],"granted":[' .. table.concat(g, ',') .. ']}')
  end
end
`

/**
 * The uncontended case without cjson: a joining acquire on a resource with nobody holding or
 * waiting (absent, or stored exactly as `encode()` writes an empty one) is granted at once,
 * the same state and reply the general path makes, by string matching and one SET. No wake
 * message: the only grant is the caller's own, carried by its reply. Ids that JSON would
 * escape (`"`, `\\`, `/`, control characters) take the general path.
 */
const FAST_ACQUIRE = `
if ARGV[5] == '1' and not string.find(id, '[%c"\\\\/]') then
  local last = 0
  if stored then
    last = tonumber(string.match(stored, '^{"permits":[^,]*,"lastToken":([^,]*),"holders":%[%],"waiters":%[%]}$'))
  end
  if last then
    local token, expiresAt = num(last + 1), num(now + tonumber(ARGV[7]))
    redis.call('SET', key, '{"permits":' .. num(tonumber(ARGV[6])) .. ',"lastToken":' .. token
      .. ',"holders":[{"id":"' .. id .. '","token":' .. token .. ',"expiresAt":' .. expiresAt
      .. '}],"waiters":[]}')
    return '1 ' .. token .. ' ' .. expiresAt
  end
end
`

/**
 * The uncontended release without cjson: the caller is the one live holder and nobody waits,
 * so the state becomes the empty one (kept: its token counter must keep rising) and nobody
 * is woken, as on the general path.
 */
const FAST_RELEASE = `
if stored then
  local permits, last, holder, expiresAt = string.match(stored,
    '^{"permits":([^,]*),"lastToken":([^,]*),"holders":%[{"id":"([^"\\\\]*)","token":[^,]*,"expiresAt":([^}]*)}%],"waiters":%[%]}$')
  if holder == id and tonumber(expiresAt) > now then
    redis.call('SET', key, '{"permits":' .. permits .. ',"lastToken":' .. last .. ',"holders":[],"waiters":[]}')
    return 'released'
  end
end
`

/**
 * Joins the line (or re-attaches: same id) when ARGV[5] is '1', only expires and promotes
 * when '0' (a waiting call checking after a wake-up: it must not join again, since its
 * waiter may have been cancelled meanwhile). ARGV[4]: the waiter id; ARGV[6..9]: permits,
 * leaseMs, waitMs, the re-attach grace in ms.
 *
 * Replies `1 <token> <expiresAt>`, or `0 <position> <now> <lastToken> <deadline>`: the
 * position in line (0: not in it), Redis's time, the last token handed out (a wake message
 * granting a lower one is older than this reply), and the earliest holder expiry (-1: none),
 * after which a waiter must call again because no alarm will.
 */
export const ACQUIRE = new LuaScript(
  'acquire',
  `${HEAD}
local id = ARGV[4]
${FAST_ACQUIRE}
${PRELUDE.slice(HEAD.length)}
if ARGV[5] == '1' then
  r.permits = tonumber(ARGV[6])
  changed = true
  if not find(r.holders, id) then
    local leaseMs = tonumber(ARGV[7])
    local expiresAt = now + 2 * tonumber(ARGV[8]) + tonumber(ARGV[9])
    local _, w = find(r.waiters, id)
    if w then
      w.expiresAt = expiresAt
      w.leaseMs = leaseMs
    else
      r.waiters[#r.waiters + 1] = { id = id, expiresAt = expiresAt, leaseMs = leaseMs }
    end
  end
end
finish()
local _, h = find(r.holders, id)
if h then return '1 ' .. num(h.token) .. ' ' .. num(h.expiresAt) end
local deadline = -1
for _, e in ipairs(r.holders) do
  if deadline < 0 or e.expiresAt < deadline then deadline = e.expiresAt end
end
return '0 ' .. num(find(r.waiters, id) or 0) .. ' ' .. num(now) .. ' ' .. num(r.lastToken) .. ' ' .. num(deadline)
`
)

/** Extends holder ARGV[4]'s lease by ARGV[5] ms. Replies `1 <expiresAt>` or `0` (not held). */
export const RENEW = new LuaScript(
  'renew',
  `${PRELUDE}
local _, h = find(r.holders, ARGV[4])
local reply = '0'
if h then
  h.expiresAt = now + tonumber(ARGV[5])
  changed = true
  reply = '1 ' .. num(h.expiresAt)
end
finish()
return reply
`
)

/** Releases holder ARGV[4] or takes that waiter out of line: `released`, `cancelled`, `unknown`. */
export const RELEASE = new LuaScript(
  'release',
  `${HEAD}
local id = ARGV[4]
${FAST_RELEASE}
${PRELUDE.slice(HEAD.length)}
local reply = 'unknown'
local i = find(r.holders, id)
if i then
  table.remove(r.holders, i)
  changed = true
  reply = 'released'
else
  i = find(r.waiters, id)
  if i then
    table.remove(r.waiters, i)
    changed = true
    touched[#touched + 1] = id
    reply = 'cancelled'
  end
end
finish()
return reply
`
)

/** Expires and promotes like any call, then replies the resource's JSON. */
export const INSPECT = new LuaScript(
  'inspect',
  `${PRELUDE}
finish()
return encode()
`
)

/**
 * A fenced value: a hash `{ value: <JSON>, fence: <number> }`. KEYS[1]: its key; ARGV[1]:
 * the value's JSON; ARGV[2]: the fence. A fence lower than the stored one is refused, an
 * equal one accepted (as coordinator.ts's `write`). Replies `<1|0> <fence after>`.
 */
export const WRITE = new LuaScript(
  'write',
  `
local fence = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if fence < current then return '0 ' .. string.format('%.17g', current) end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'fence', ARGV[2])
return '1 ' .. ARGV[2]
`
)
