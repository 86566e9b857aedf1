"""The Lua scripts of the Redis backend: each touches the keys of one thread only (one slot).

Every change to a thread is one script run, so Redis applies it whole or not at all and no
reader sees half of it. Scripts use core commands only (no modules, no KEYS, no SCAN). They are
given the thread's key (plus the catalog's on a single server, where it is in reach) and derive
the thread's other keys from it: all carry its hash tag, so all are in its slot. ``APPLY`` takes
its operations as plain arguments (the client packs them in one frame, ``calls``): splitting one
long argument in Lua cost more than the rest of a step's script.

``STEP`` (a step's commit, the hot path): checks the writer's lease and fencing epoch, checks
that the rows chained rows build on exist (and, sent right behind the step before it, that
that step's checkpoint is stored), stores the checkpoint record, its blob rows and the
task writes, moves the head, may give the lease back (as ``RELEASE``), marks the thread updated,
and sets the thread's TTL on all of its keys together. Its arguments are laid out for that one
job, so a step is a few dozen arguments and about twenty commands.
``APPLY`` (any other write: task writes alone, copies, pruning): the same checks around a list
of hash/sorted-set operations.
``READ``: one checkpoint (or the head) with its metadata, the rows of its values (following
delta and reference chains) and its pending writes. ``LEASE``/``RELEASE``: the writer lease.
``LEASE_READ``: the lease and then ``READ``, in one round trip (how a run starts).
``DROP``: every key of a thread (but a held lease and its epoch). ``PIN``: pin (no TTL) or
unpin a thread.
"""

from __future__ import annotations

_COMMON = r"""
local NS_PARTS = {'ids', 'cp', 'meta', 'need', 'blobs', 'links', 'writes', 'wk'}
local function thread_base(thread_key) return string.sub(thread_key, 1, -3) end
local function expire_thread(thread_key, ttl)
  if tonumber(ttl) <= 0 or redis.call('HGET', thread_key, 'pinned') then return end
  local base = thread_base(thread_key)
  for _, key in ipairs({thread_key, base .. ':ns', base .. ':epoch'}) do
    redis.call('PEXPIRE', key, ttl)
  end
  for _, tag in ipairs(redis.call('HKEYS', base .. ':ns')) do
    for _, name in ipairs(NS_PARTS) do
      redis.call('PEXPIRE', base .. ':' .. tag .. ':' .. name, ttl)
    end
  end
end
local ESC = {['\0'] = '\1\2', ['\1'] = '\1\1', ['\n'] = '\1\3'}
local function esc(s) return (string.gsub(s, '[%z\1\n]', ESC)) end
local function items(s)
  local out, pos, last = {}, 1, #s
  while pos <= last do
    local colon = string.find(s, ':', pos, true)
    local n = tonumber(string.sub(s, pos, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end
"""

_WRITE_FNS = r"""
-- The keys of a write: thread, lease, epoch, spaces, then the namespace's (NS_PARTS order).
local function keys_of(thread_key, tag)
  local base = thread_base(thread_key)
  local K = {thread_key, base .. ':lease', base .. ':epoch', base .. ':ns'}
  for _, name in ipairs(NS_PARTS) do K[#K + 1] = base .. ':' .. tag .. ':' .. name end
  return K
end
-- nil if the writer (owner, epoch; owner '' = no lease) may write, else the refusal to return.
local function refused(K, owner, epoch, lease_ms)
  local got = redis.call('MGET', K[2], K[3])
  local holder, current = got[1], got[2] or '0'
  if owner ~= '' then
    if holder == owner and current == epoch then
      redis.call('PEXPIRE', K[2], lease_ms)
    elseif holder or current ~= epoch then
      return {'lost', current}
    end
  elseif holder then
    return {'busy', redis.call('PTTL', K[2])}
  end
  return nil
end
-- The fields among A[first..last] that the namespace's blobs lack, or nil.
local function missing_rows(K, A, first, last)
  local missing = {}
  for i = first, last do
    if redis.call('HEXISTS', K[9], A[i]) == 0 then missing[#missing + 1] = A[i] end
  end
  if #missing > 0 then return missing end
  return nil
end
-- A blob row, unless one is stored there already; a chained row records the field it continues at.
local function put_blob(K, link, field, row)
  if redis.call('HSETNX', K[9], field, row) == 1 and link ~= '' then
    redis.call('HSET', K[10], field, link)
  end
end
-- RELEASE: give the lease back if (owner, epoch) still holds it; record status ('' = keep).
local function release(K, owner, epoch, status, now)
  if redis.call('GET', K[2]) == owner and (redis.call('GET', K[3]) or '0') == epoch then
    redis.call('DEL', K[2])
    if status ~= '' then redis.call('HSET', K[1], 'status', status, 'updated_at', now) end
  end
end
-- The thread was written: its times, its namespace listed, its place in the catalog.
local function touch(K, catalog, now, tag, ns, thread_id)
  redis.call('HSETNX', K[1], 'created_at', now)
  redis.call('HSET', K[1], 'updated_at', now)
  redis.call('HSET', K[4], tag, ns)
  if catalog then redis.call('ZADD', catalog, now, thread_id) end
end
"""

APPLY = (
    _COMMON
    + _WRITE_FNS
    + r"""
-- KEYS: thread, [catalog].  ARGV: owner ('' = none), epoch, lease_ms, ttl_ms, now, ns_tag, ns,
-- thread_id (as STEP's), check_lease, touch, n_bases, the bases, then ops (op, arg, field,
-- value).
local A = ARGV
local K = keys_of(KEYS[1], A[6])
if A[9] == '1' then
  local refusal = refused(K, A[1], A[2], A[3])
  if refusal then return refusal end
end
local n_bases = tonumber(A[11])
local missing = missing_rows(K, A, 12, 11 + n_bases)
if missing then return {'missing', missing} end
for i = 12 + n_bases, #A, 4 do
  local op, arg, field, value = A[i], A[i + 1], A[i + 2], A[i + 3]
  if op == 'H' then redis.call('HSET', K[tonumber(arg)], field, value)
  elseif op == 'N' then redis.call('HSETNX', K[tonumber(arg)], field, value)
  elseif op == 'Z' then redis.call('ZADD', K[tonumber(arg)], 0, field)
  elseif op == 'D' then redis.call('HDEL', K[tonumber(arg)], field)
  elseif op == 'R' then redis.call('ZREM', K[tonumber(arg)], field)
  elseif op == 'C' then
    if redis.call(field, K[tonumber(arg)]) ~= tonumber(value) then return {'changed'} end
  elseif op == 'B' then put_blob(K, arg, field, value)
  elseif op == 'L' then release(K, field, value, arg, A[5])
  end
end
if A[10] == '1' then touch(K, KEYS[2], A[5], A[6], A[7], A[8]) end
expire_thread(K[1], A[4])
return {'ok'}
"""
)

STEP = (
    _COMMON
    + _WRITE_FNS
    + r"""
-- KEYS: thread, [catalog].  ARGV: owner ('' = none), epoch, lease_ms, ttl_ms, now, ns_tag, ns,
-- thread_id, checkpoint id, body, meta, need, release owner ('' = keep the lease), release
-- epoch, release status, after (a checkpoint id that must be stored, '' = none); n_bases, the
-- bases of chained rows; n_blobs, (link, field, row) each; then the writes, (mode 'H' replace
-- | 'N' keep the first, field, row) each. The rows of ``need`` this step does not write must
-- exist, as the bases must.
local A = ARGV
local K = keys_of(KEYS[1], A[6])
local refusal = refused(K, A[1], A[2], A[3])
if refusal then return refusal end
if A[16] ~= '' and redis.call('HEXISTS', K[6], A[16]) == 0 then return {'missing', {}} end
local at = 17
local n = tonumber(A[at])
local missing = missing_rows(K, A, at + 1, at + n) or {}
at = at + n + 1
n = tonumber(A[at])
local written = {}
for i = at + 2, at + 3 * n, 3 do written[A[i]] = true end
for field in string.gmatch(A[12], '[^\n]+') do
  if not written[field] and redis.call('HEXISTS', K[9], field) == 0 then
    missing[#missing + 1] = field
  end
end
if #missing > 0 then return {'missing', missing} end
for i = at + 1, at + 3 * n, 3 do put_blob(K, A[i], A[i + 1], A[i + 2]) end
local members = {}
for i = at + 3 * n + 1, #A, 3 do
  redis.call(A[i] == 'H' and 'HSET' or 'HSETNX', K[11], A[i + 1], A[i + 2])
  members[#members + 1] = 0
  members[#members + 1] = A[i + 1]
  if #members >= 1000 then
    redis.call('ZADD', K[12], unpack(members))
    members = {}
  end
end
if #members > 0 then redis.call('ZADD', K[12], unpack(members)) end
redis.call('HSET', K[6], A[9], A[10])
redis.call('HSET', K[7], A[9], A[11])
redis.call('HSET', K[8], A[9], A[12])
redis.call('ZADD', K[5], 0, A[9])
if A[13] ~= '' then release(K, A[13], A[14], A[15], A[5]) end
touch(K, KEYS[2], A[5], A[6], A[7], A[8])
expire_thread(K[1], A[4])
return {'ok'}
"""
)

_READ_FN = r"""
-- One checkpoint ('' = the head) of the namespace ``tag``: {id, body, meta, rows, writes}, or
-- false. Rows of the fields in ``skip`` (netstrings: the caller holds them) are not returned.
local function read_checkpoint(thread_key, cid, refresh, tag, skip)
  local base = thread_base(thread_key)
  local K = {thread_key}
  for _, name in ipairs(NS_PARTS) do K[#K + 1] = base .. ':' .. tag .. ':' .. name end
  if cid == '' then
    local top = redis.call('ZREVRANGEBYLEX', K[2], '+', '-', 'LIMIT', 0, 1)
    if #top == 0 then return false end
    cid = top[1]
  end
  local body = redis.call('HGET', K[3], cid)
  if not body then return false end
  local meta = redis.call('HGET', K[4], cid)
  local need = redis.call('HGET', K[5], cid) or ''
  local rows, seen, skipped = {}, {}, {}
  for _, field in ipairs(items(skip or '')) do skipped[field] = true end
  for field in string.gmatch(need, '[^\n]+') do
    local at, hops = field, 0
    if skipped[field] then at = nil end
    while at and not seen[at] and hops < 1030 do
      seen[at] = true
      local row = redis.call('HGET', K[6], at)
      if not row then break end
      rows[#rows + 1] = at
      rows[#rows + 1] = row
      at = redis.call('HGET', K[7], at)
      hops = hops + 1
    end
  end
  local fields = redis.call('ZRANGEBYLEX', K[9], '[' .. esc(cid) .. '\0', '(' .. esc(cid) .. '\1')
  local writes = {}
  if #fields > 0 then
    local values = redis.call('HMGET', K[8], unpack(fields))
    for i, field in ipairs(fields) do
      if values[i] then writes[#writes + 1] = values[i] end
    end
  end
  expire_thread(K[1], refresh)
  return {cid, body, meta or '', rows, writes}
end
"""

_LEASE_FN = r"""
-- Take the lease for ``owner`` unless someone but ``holder`` ('' = none) has it:
-- {1, epoch} or {0, its ms left, its holder}. ``owner`` holding it already (a call sent again
-- after its reply was lost with the connection) takes it again, with a new epoch.
local function take_lease(lease_key, epoch_key, thread_key, owner, ms, holder, ttl)
  local current = redis.call('GET', lease_key)
  if current and current ~= holder and current ~= owner then
    return {0, redis.call('PTTL', lease_key), current}
  end
  redis.call('SET', lease_key, owner, 'PX', ms)
  local epoch = redis.call('INCR', epoch_key)
  redis.call('HSET', thread_key, 'status', 'busy')
  expire_thread(thread_key, ttl)
  return {1, epoch}
end
"""

READ = (
    _COMMON
    + _READ_FN
    + r"""
-- KEYS: thread.  ARGV: checkpoint id ('' = the head), refresh ttl_ms, namespace tag, skip.
return read_checkpoint(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""
)

LEASE = (
    _COMMON
    + _LEASE_FN
    + r"""
-- KEYS: lease, epoch, thread.  ARGV: owner, lease_ms, holder to take over ('' = none), ttl_ms
return take_lease(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""
)

LEASE_READ = (
    _COMMON
    + _LEASE_FN
    + _READ_FN
    + r"""
-- KEYS: lease, epoch, thread.  ARGV: owner, lease_ms, ttl_ms, then READ's four arguments.
-- The lease (as LEASE, taking over no one) and, if taken, the checkpoint read after it.
local got = take_lease(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], '', ARGV[3])
if got[1] == 0 then return got end
return {1, got[2], read_checkpoint(KEYS[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])}
"""
)

RELEASE = r"""
-- KEYS: lease, epoch, thread.  ARGV: owner, epoch, status ('' = keep), now
if redis.call('GET', KEYS[1]) ~= ARGV[1] or (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
if ARGV[3] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'status', ARGV[3], 'updated_at', ARGV[4])
end
return 1
"""

DROP = (
    _COMMON
    + r"""
-- KEYS: thread.  Deletes every key of the thread; a held lease and its epoch stay.
local base = thread_base(KEYS[1])
for _, tag in ipairs(redis.call('HKEYS', base .. ':ns')) do
  for _, name in ipairs(NS_PARTS) do redis.call('DEL', base .. ':' .. tag .. ':' .. name) end
end
if redis.call('EXISTS', base .. ':lease') == 0 then redis.call('DEL', base .. ':epoch') end
return redis.call('DEL', KEYS[1], base .. ':ns')
"""
)

PIN = (
    _COMMON
    + r"""
-- KEYS: thread.  ARGV: '1' pin (no expiry) | '0' unpin (expire in ttl_ms), ttl_ms
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local base = thread_base(KEYS[1])
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'pinned', '1')
  for _, key in ipairs({KEYS[1], base .. ':ns', base .. ':epoch'}) do redis.call('PERSIST', key) end
  for _, tag in ipairs(redis.call('HKEYS', base .. ':ns')) do
    for _, name in ipairs(NS_PARTS) do redis.call('PERSIST', base .. ':' .. tag .. ':' .. name) end
  end
else
  redis.call('HDEL', KEYS[1], 'pinned')
  expire_thread(KEYS[1], ARGV[2])
end
return 1
"""
)
