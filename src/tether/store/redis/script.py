"""RedisStore's Lua scripts: ``WRITE``, through which every write goes (atomic per call), and
``CANDIDATES``, the one read of a search.

``KEYS[1]`` is the store's base (``{<key_prefix>}``); the other keys are derived from it
and share its hash tag, so on Redis Cluster they live in one slot. ``ARGV[1]`` is "now" (epoch
seconds, from the store's clock); then one record per op:

- ``P ns key value created updated order ttl expires vectors``: put (``created`` is kept from
  a live old item);
- ``D ns key``: delete;
- ``R ns key expires``: refresh the TTL of an item that has one;
- ``X ns key``: delete the item if it has expired (the sweeper), else drop a stale index entry.

Keys: ``:i:<ns>:<key>`` (hash of the item: v c u s t e x), ``:n:<ns>`` (sorted set of the
namespace's keys scored by expiry, ``+inf`` without TTL), ``:ns`` (sorted set of namespaces,
score 0, ranged by lex), ``:exp`` (sorted set ``<ns>/<key>`` by expiry, for the sweeper).
``WRITE`` returns the number of items the ``X`` records deleted.

``CANDIDATES``: ``ARGV`` = now, the namespace prefix's name (``""``: every namespace), then the
item fields wanted. Returns, flat, per live item under the prefix: namespace, key, its ``s``
(write order) and the fields (``""`` when absent).
"""

WRITE = """
local base = KEYS[1]
local now = tonumber(ARGV[1])
local nsidx, expz = base .. ':ns', base .. ':exp'
local function alive(e) return (not e) or e == '' or tonumber(e) > now end
local function drop(ns, key, item, nsz)
  redis.call('DEL', item)
  redis.call('ZREM', nsz, key)
  redis.call('ZREM', expz, ns .. '/' .. key)
  if redis.call('ZCARD', nsz) == 0 then redis.call('ZREM', nsidx, ns) end
end
local removed, i = 0, 2
while i <= #ARGV do
  local op, ns, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local item, nsz = base .. ':i:' .. ns .. ':' .. key, base .. ':n:' .. ns
  if op == 'P' then
    local old = redis.call('HMGET', item, 'c', 'e')
    local created = ARGV[i + 4]
    if old[1] and alive(old[2]) then created = old[1] end
    redis.call('DEL', item)
    local e = ARGV[i + 8]
    redis.call('HSET', item, 'v', ARGV[i + 3], 'c', created, 'u', ARGV[i + 5],
      's', ARGV[i + 6], 't', ARGV[i + 7], 'e', e, 'x', ARGV[i + 9])
    if e == '' then
      redis.call('ZADD', nsz, '+inf', key)
      redis.call('ZREM', expz, ns .. '/' .. key)
    else
      redis.call('ZADD', nsz, e, key)
      redis.call('ZADD', expz, e, ns .. '/' .. key)
    end
    redis.call('ZADD', nsidx, 0, ns)
    i = i + 10
  elseif op == 'D' then
    drop(ns, key, item, nsz)
    i = i + 3
  elseif op == 'R' then
    local t = redis.call('HGET', item, 't')
    if t and t ~= '' then
      redis.call('HSET', item, 'e', ARGV[i + 3])
      redis.call('ZADD', nsz, ARGV[i + 3], key)
      redis.call('ZADD', expz, ARGV[i + 3], ns .. '/' .. key)
    end
    i = i + 4
  elseif op == 'X' then
    local e = redis.call('HGET', item, 'e')
    if not e then
      redis.call('ZREM', expz, ns .. '/' .. key)
    elseif not alive(e) then
      drop(ns, key, item, nsz)
      removed = removed + 1
    end
    i = i + 3
  else
    return redis.error_reply('tether store script: unknown op ' .. tostring(op))
  end
end
return removed
"""

CANDIDATES = """
local base = KEYS[1]
local lo, prefix = '(' .. ARGV[1], ARGV[2]
local fields = {'s'}
for j = 3, #ARGV do fields[#fields + 1] = ARGV[j] end
local spaces
if prefix == '' then
  spaces = redis.call('ZRANGEBYLEX', base .. ':ns', '-', '+')
else
  spaces = redis.call('ZRANGEBYLEX', base .. ':ns', '[' .. prefix, '[' .. prefix)
  -- deeper namespaces: prefix.anything ('/' sorts right after '.')
  local deeper = redis.call('ZRANGEBYLEX', base .. ':ns', '[' .. prefix .. '.',
    '(' .. prefix .. '/')
  for _, ns in ipairs(deeper) do spaces[#spaces + 1] = ns end
end
local out = {}
for _, ns in ipairs(spaces) do
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', base .. ':n:' .. ns, lo, '+inf')) do
    local row = redis.call('HMGET', base .. ':i:' .. ns .. ':' .. key, unpack(fields))
    if row[1] then
      out[#out + 1] = ns
      out[#out + 1] = key
      for f = 1, #fields do out[#out + 1] = row[f] or '' end
    end
  end
end
return out
"""
