/**
 * Lua run inside Redis, so a batch is one round trip and the compare-and-set is atomic against any
 * number of concurrent writers.
 *
 * PUT — KEYS: [symbol set, last_price:S1, last_quote:S1, last_price:S2, last_quote:S2, …];
 * ARGV: [ttl seconds (0 = none), channel, then per symbol: symbol, ISO ts, price text, quote JSON].
 * A symbol is written when its stored quote is missing, unreadable, or has an event time older than or
 * equal to the new one. The event time is read from the stored quote's own `ts` (fixed-width
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ`, compared as two exact numbers), so the JSON seed clients read stays the
 * single source of truth and there is no side key to drift from it. `ts` is found with a pattern, not
 * cjson.decode, which took three quarters of the script's time: in JSON.stringify output a `"ts":` that is
 * not the key cannot occur, since quotes inside string values are escaped. A stored value that is not
 * such a quote (another writer's format, a different key type) is replaced rather than blocking updates.
 * Publishes one message, a JSON array of the quotes that changed; returns how many changed.
 */
export const PUT_LUA = `
local function order(iso)
  if type(iso) ~= 'string' then return nil end
  local y, mo, d, h, mi, s, f = string.match(iso, '^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)%.(%d%d%d%d%d%d)Z$')
  if not y then return nil end
  return tonumber(y .. mo .. d .. h .. mi .. s), tonumber(f)
end

local ttl = tonumber(ARGV[1])
local channel = ARGV[2]
local changed = {}
local symbols = {}
local n = (#KEYS - 1) / 2
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local nhi, nlo = order(ARGV[a + 2])
  if not nhi then return redis.error_reply('ERR tickline: bad ts ' .. tostring(ARGV[a + 2])) end
  local write = true
  local cur = redis.pcall('GET', KEYS[2 * i + 1])
  if type(cur) == 'string' then
    local chi, clo = order(string.match(cur, '"ts"%s*:%s*"([^"]*)"'))
    if chi and (nhi < chi or (nhi == chi and nlo < clo)) then write = false end
  end
  if write then
    if ttl > 0 then
      redis.call('SET', KEYS[2 * i], ARGV[a + 3], 'EX', ttl)
      redis.call('SET', KEYS[2 * i + 1], ARGV[a + 4], 'EX', ttl)
    else
      redis.call('SET', KEYS[2 * i], ARGV[a + 3])
      redis.call('SET', KEYS[2 * i + 1], ARGV[a + 4])
    end
    symbols[#symbols + 1] = ARGV[a + 1]
    changed[#changed + 1] = ARGV[a + 4]
  end
end
if #symbols > 0 then
  -- unpack() is limited by the Lua C stack (~8000 values).
  for i = 1, #symbols, 1000 do
    redis.call('SADD', KEYS[1], unpack(symbols, i, math.min(i + 999, #symbols)))
  end
  -- The set outlives every quote written with it, so all() never misses a live quote.
  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
  if channel ~= '' then redis.call('PUBLISH', channel, '[' .. table.concat(changed, ',') .. ']') end
end
return #changed
`;

/**
 * PRUNE — KEYS: [symbol set, last_quote:S1, …]; ARGV: [S1, …]. Drops symbols whose quote expired, in
 * the same atomic step as the check, so a put that re-adds one concurrently is never undone.
 */
export const PRUNE_LUA = `
local removed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], ARGV[i - 1])
  end
end
return removed
`;
