"""Lua scripts for the steps of a work queue that must be atomic and conditional.

MULTI/EXEC would make these atomic but not conditional: each script checks a condition (room in the
queue, the entry still pending, the entry still ours) and acts only if it holds, with no other client's
command in between. That is what keeps two workers racing on one entry from dead-lettering it twice,
and two operators replaying one dead letter from enqueuing it twice.
"""

from __future__ import annotations

# KEYS[1] stream. ARGV[1] capacity, ARGV[2] entries the producer still has to add (this chunk and any
# after it), ARGV[3..] one JSON array [field, value, ...] per entry of this chunk.
# A batch that does not fit is refused whole, at its first chunk, so a producer never has half a batch queued.
ENQUEUE = """
if redis.call('XLEN', KEYS[1]) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return false end
local ids = {}
for i = 3, #ARGV do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(cjson.decode(ARGV[i])))
end
return ids
"""

# KEYS[1] stream. ARGV[1] group, ARGV[2..] entry ids. Acknowledges and deletes each entry; returns the ids
# that were still pending (the others were finished by a worker that took them over). One call for the
# entries a worker finished together: per-entry MULTI/XACK/XDEL/EXEC round trips were a tenth of a busy
# worker's time in the client.
ACK = """
local acked = {}
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then acked[#acked + 1] = ARGV[i] end
end
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return acked
"""

# KEYS[1] stream. ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry ids.
# Resets the idle time of entries this consumer still owns (XCLAIM JUSTID does not count a delivery).
# An entry another consumer has claimed meanwhile is left alone: taking it back would put two
# workers on it at once. Returns {kept, taken by another consumer}; an entry no longer pending at all
# (acknowledged while this call was on its way) is in neither.
RENEW = """
local kept, taken = {}, {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  elseif p[1] then
    taken[#taken + 1] = ARGV[i]
  end
end
return {kept, taken}
"""

# KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] group, ARGV[2] entry id, ARGV[3..] dead-letter fields.
DEAD_LETTER = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return false end
redis.call('XDEL', KEYS[1], ARGV[2])
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
"""

# KEYS[1] stream, KEYS[2] dead-letter stream. ARGV[1] capacity, ARGV[2] dead-letter id.
# Returns {0} when the dead letter is gone, {1} when the queue is full, {2, new id} when replayed.
REPLAY = """
local found = redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2])
if #found == 0 then return {0} end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return {1} end
local flat = found[1][2]
local fields
for i = 1, #flat, 2 do
  if flat[i] == 'fields' then fields = cjson.decode(flat[i + 1]) end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('XDEL', KEYS[2], ARGV[2])
return {2, id}
"""

# KEYS[1] stream. ARGV[1] group, ARGV[2] consumer. Deleting a consumer drops its pending entries
# from the group, so it is deleted only when it has none.
FORGET_CONSUMER = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
"""
