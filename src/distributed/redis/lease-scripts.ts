/**
 * The coordinator's logic (src/distributed/coordinator.ts) ported to Lua, so that every change
 * to a lock's or semaphore's state is one atomic script inside Redis: no process ever reads,
 * decides and writes from its side, and every process shares Redis's clock.
 *
 * One resource is one string key holding the JSON of coordinator.ts's `Resource`
 * (`permits`, `lastToken`, `holders`, `waiters`), changed in the same order as `#update`:
 * expire, change, promote, write, wake. Numbers are written with `%.17g` (`%d` for whole
 * ones: the same text), which reads back as the same double: cjson's own encoder keeps 14
 * digits, and a number returned from a script is cut to an integer, so replies are strings
 * too. A resource with a token is never deleted: its counter must keep rising.
 *
 * The uncontended calls (a join on a free resource, the one holder's release) take fast paths
 * that match the stored text instead of decoding it, and make the same state and reply as the
 * general path: the cost of a script inside Redis is mostly its `redis.call`s (here TIME, GET
 * and SET), its arguments and its number formatting, so those paths do no more than that.
 *
 * Redis has no alarm: expiries happen when a script touches the resource. Waiters therefore
 * call again when the earliest holder lease runs out (the `deadline` of a waiting reply);
 * see coordinator.ts in this folder.
 */
import { LuaScript } from './client.ts'

/**
 * Shared head of the resource scripts. KEYS[1]: the resource's key; ARGV[1]: the caller's
 * id (waiter or holder), except for INSPECT; the time in ms after each script's own
 * arguments (ARGV[clock]), or none for Redis's clock (`TIME`, whole ms like `Date.now()`).
 * Nothing else is sent to every call: an uncontended call's cost grows with its arguments.
 *
 * Wake messages are JSON, `{"name":…,"touched":[ids],"granted":[[id,token,expiresAt],…]}`,
 * one per script that granted, cancelled or expired a waiter: the ids whose long poll may be
 * waiting. A holder has none (coordinator.ts wakes released and expired holders too, for
 * nobody), so a plain release publishes nothing. They go out with SPUBLISH: a shard channel
 * is routed by its hash tag like a key, so on Redis Cluster the message stays on the shard
 * that owns the object's keys instead of being broadcast to every node.
 */
const head = (clock: number) => `
local key = KEYS[1]
local now = ARGV[${clock}]
if now then now = tonumber(now)
else
  -- Arithmetic turns TIME's numeric strings into numbers, as tonumber() would, without a call.
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
end
-- A whole number (every token, and every time but under a fractional lease or test clock) is
-- written with %d: the same text %.17g writes below 2^53, at a fraction of its cost (glibc's
-- floating-point printf is the dearest step of an uncontended call).
local function num(x)
  if x % 1 == 0 and x < 9007199254740992 and x > -9007199254740992 then
    return string.format('%d', x)
  end
  return string.format('%.17g', x)
end
local stored = redis.call('GET', key)
`

/**
 * The rest of the shared head: the state decoded (cjson), expired, and the helpers that change
 * and write it. The fast paths below run before it and skip it.
 *
 * The wake channel and the resource's name (carried in wake messages) are cut from the key,
 * `<prefix>:{<tag>}:res:<name>` (objectKeys in coordinator.ts: neither the prefix nor the tag
 * holds a '}'), whose channel is `<prefix>:{<tag>}:wake`: only this path needs them.
 */
const STATE = `
local tagEnd = string.find(key, '}', 1, true)
local channel, name = string.sub(key, 1, tagEnd) .. ':wake', string.sub(key, tagEnd + 6)
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
 * The uncontended case without cjson (ARGV as ACQUIRE's): a joining acquire on a resource
 * with nobody holding or waiting (absent, or stored exactly as `encode()` writes an empty
 * one) is granted at once, the same state and reply the general path makes, by string
 * matching and one SET. No wake message: the only grant is the caller's own, carried by its
 * reply.
 *
 * Only for ARGV[2] == '2': a join whose id the client found plain (no character JSON would
 * escape), so that it can be written between quotes as it is; a pattern scan of the id here
 * would cost about as much as the rest of this path (a regular expression on the client, a
 * fraction of that). Any other id, and any other state, takes the general path.
 * ARGV[3] (permits) is written as it came: the client sends an integer's decimal text, which
 * is what `num` writes too.
 */
const FAST_ACQUIRE = `
if ARGV[2] == '2' then
  local last = 0
  if stored then
    last = tonumber(string.match(stored, '^{"permits":[^,]*,"lastToken":([^,]*),"holders":%[%],"waiters":%[%]}$'))
  end
  if last then
    local token, expiresAt = num(last + 1), num(now + ARGV[4])
    redis.call('SET', key, '{"permits":' .. ARGV[3] .. ',"lastToken":' .. token
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
    return 1
  end
end
`

/**
 * Joins the line (or re-attaches: same id) when ARGV[2] is '1' or '2' (see FAST_ACQUIRE),
 * only expires and promotes when '0' (a waiting call checking after a wake-up: it must not
 * join again, since its waiter may have been cancelled meanwhile). ARGV[1]: the waiter id;
 * ARGV[3..6]: permits, leaseMs, waitMs, the re-attach grace in ms; ARGV[7]: the clock.
 *
 * Replies `1 <token> <expiresAt>`, or `0 <position> <now> <lastToken> <deadline>`: the
 * position in line (0: not in it), Redis's time, the last token handed out (a wake message
 * granting a lower one is older than this reply), and the earliest holder expiry (-1: none),
 * after which a waiter must call again because no alarm will.
 */
export const ACQUIRE = new LuaScript(
  'acquire',
  `${head(7)}
local id = ARGV[1]
${FAST_ACQUIRE}
${STATE}
if ARGV[2] ~= '0' then
  r.permits = tonumber(ARGV[3])
  changed = true
  if not find(r.holders, id) then
    local leaseMs = tonumber(ARGV[4])
    local expiresAt = now + 2 * tonumber(ARGV[5]) + tonumber(ARGV[6])
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

/**
 * Extends holder ARGV[1]'s lease by ARGV[2] ms (ARGV[3]: the clock). Replies `1 <expiresAt>`
 * or `0` (not held).
 */
export const RENEW = new LuaScript(
  'renew',
  `${head(3)}
${STATE}
local _, h = find(r.holders, ARGV[1])
local reply = '0'
if h then
  h.expiresAt = now + tonumber(ARGV[2])
  changed = true
  reply = '1 ' .. num(h.expiresAt)
end
finish()
return reply
`
)

/**
 * Releases holder ARGV[1] or takes that waiter out of line (ARGV[2]: the clock). Replies an
 * integer, which Redis and the client handle at less cost than text: 1 released, 2
 * cancelled, 0 unknown (RELEASE_REPLIES).
 */
export const RELEASE = new LuaScript(
  'release',
  `${head(2)}
local id = ARGV[1]
${FAST_RELEASE}
${STATE}
local reply = 0
local i = find(r.holders, id)
if i then
  table.remove(r.holders, i)
  changed = true
  reply = 1
else
  i = find(r.waiters, id)
  if i then
    table.remove(r.waiters, i)
    changed = true
    touched[#touched + 1] = id
    reply = 2
  end
end
finish()
return reply
`
)

/** RELEASE's replies, by the integer it answers. */
export const RELEASE_REPLIES = ['unknown', 'released', 'cancelled'] as const

/** Expires and promotes like any call (ARGV[1]: the clock), then replies the resource's JSON. */
export const INSPECT = new LuaScript(
  'inspect',
  `${head(1)}
${STATE}
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
