-- Read an opening's state and the server's time in one call, from the node that holds it.
-- KEYS: 1 state. Returns {now (ms), state (msgpack) or false}.
local t = redis.call('TIME')
return {tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), redis.call('GET', KEYS[1])}
