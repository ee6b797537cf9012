/**
 * The Redis Function library (Lua, loaded with FUNCTION LOAD on every master) that applies the
 * sparse optimizer to embedding rows server-side. One FCALL carries rows of ONE hash slot (a
 * cluster requirement); Redis runs a function atomically, so two workers' updates of a row are
 * applied one after the other and neither is lost.
 *
 * A row is one string: dim float32 weights, then the optimizer's state words, little-endian,
 * exactly EmbeddingTable's record (adagrad: float32 accumulator; adam: m[dim], v[dim] float32 and
 * the int32 step count; sgd: none).
 *
 * Float semantics: Lua numbers are doubles, as JavaScript's are. The JS optimizers compute in
 * doubles from float32 inputs and round when they store into a Float32Array; the function does
 * the same arithmetic in the same order and rounds with struct.pack('<f'). SGD and row-wise Adagrad
 * are therefore bit-identical to src/embedding (the tests compare exactly). Adam uses pow(), where
 * V8's Math.pow and the C library's may differ in the last bit of a double, so it is equal within
 * float32 rounding (tests: 1e-6 relative).
 *
 * Apply once per round. A worker's push of round r does NOT step the row: it adds the row's
 * gradient to the row's pending sum of round r (float32, as EmbeddingTable sums a batch's
 * duplicate ids), kept at the end of the row's value. The sum is applied, ONE optimizer step, by
 * the first push or read that comes after round r: every push of round r lands before the
 * round's dense-sync barrier and every pull of round r+1 after it, so that step sees the whole
 * round's gradient, summed over the workers, as the single process's step on the batch does.
 * (Two pushes stepping the row one after the other, as before, gave Adagrad two accumulator
 * updates, Adam two step counts, and an order-dependent result.)
 *
 * FCALL esmm_step_v1 numkeys key1..keyN [marker]  kind dim lr l2 h1 h2 h3 round  grads inits flags [counts]
 *   kind: sgd | adagrad (h1 initialAccumulator, h2 eps) | adam (h1 beta1, h2 beta2, h3 eps)
 *     | ftrl (h1 l1, h2 l2, h3 beta; a created row's z is set from its initial weights and lr as
 *     SparseFtrl.initRowState sets it, so the closed form returns those weights)
 *   round: a worker's round number: the gradients go into the rows' pending sums of that round
 *   (an older pending sum is applied first); the LAST key is that worker's marker in this slot,
 *   and a call whose round is not above the marker's is skipped (returns -1). A push retried
 *   after a lost reply, or redone by a restarted worker, is summed once. '' (no round): apply the
 *   gradient at once, one step per call (the table tests; no marker).
 *   Every argument is checked before the first write (a function's writes are not rolled back).
 *   grads: N x dim float32, row i's summed gradient; flags: N characters, '1' where the caller saw
 *   the row absent: inits then holds that row's dim float32 initial weights (in row order): a
 *   still-absent row is created from them with the optimizer's initial state. A row absent
 *   without an initial vector is an error, not a silent zero. (Three packed arguments instead of
 *   2N: measured 2x less client time per push.)
 *   l2: the table's L2, added as l2 * w to the gradient (rounded to float32) before the step (w:
 *   the row when the step is applied, i.e. as the round read it).
 *   The pending sum keeps lr, l2 and the optimizer settings of its round's first push.
 *   counts (frequency-aware L2, train.embedding_l2_frequency; absent or '' otherwise): N int32, how
 *   often row i occurred in the pushing step. Such a table's record carries one more int32 after
 *   the optimizer state, the row's occurrence count (EmbeddingTable's counts); a step first adds
 *   the step's occurrences to it, then uses l2 / max(1, count) for l2, as EmbeddingTable does. A
 *   pending round sums the occurrences of its pushes beside their gradients.
 * Returns the number of rows it created.
 *
 * FCALL esmm_read_v1 numkeys key1..keyN  round
 *   The rows as of the end of round - 1 (each record, or nil when absent): a pending sum of an
 *   earlier round is applied and stored; one of round or later (a faster worker's push of the
 *   round being read) is left out. round '': every pending sum is applied (epoch-end reads).
 */
export const FUNCTION_LIBRARY = 'esmm_v1';
export const STEP_FUNCTION = 'esmm_step_v1';
export const READ_FUNCTION = 'esmm_read_v1';

export const FUNCTION_SOURCE = `#!lua name=${FUNCTION_LIBRARY}
-- A pending round's gradient rides at the end of the row's value: record .. sum (dim float32)
-- [.. occurrences (int32), frequency-aware tables] .. trailer ('<i4dddddi4i4': round, lr, l2, h1,
-- h2, h3, kind, dim; 52 bytes; kind + FREQ_KIND when the occurrences are there) .. 'P'. Records
-- are multiples of 4 bytes, so a value of length 1 mod 4 carries one.
local TRAILER = '<i4dddddi4i4'
local TRAILER_BYTES = 52
local KIND = { sgd = 0, adagrad = 1, adam = 2, ftrl = 3 }
local KIND_NAME = { [0] = 'sgd', [1] = 'adagrad', [2] = 'adam', [3] = 'ftrl' }
local FREQ_KIND = 8

-- struct is not reachable while the library loads, only when a function runs: bind it per call.
local function tools()
  local spack, sunpack = struct.pack, struct.unpack
  return { pack = spack, unpack = sunpack, f32 = function(x) return (sunpack('<f', spack('<f', x))) end }
end

-- The optimizer's part of a record (weights and state); a frequency-aware record has 4 more bytes.
local function recordBytes(kind, dim)
  if kind == 'sgd' then return 4 * dim elseif kind == 'adagrad' then return 4 * dim + 4 elseif kind == 'ftrl' then return 12 * dim else return 12 * dim + 4 end
end

-- The record of a row never updated: its initial weights (bytes), the optimizer's initial state,
-- and an occurrence count of 0 when frequency-aware.
local function initialRecord(S, kind, dim, lr, h1, h2, h3, initBytes, freq)
  local tail = ''
  if freq then tail = S.pack('<i4', 0) end
  if kind == 'sgd' then return initBytes .. tail end
  if kind == 'adagrad' then return initBytes .. S.pack('<f', h1) .. tail end
  if kind == 'ftrl' then
    -- z0 = -w0 (beta / alpha + l2), n0 = 0 (SparseFtrl.initRowState; alpha = lr).
    local ff = '<' .. string.rep('f', dim)
    local w = { S.unpack(ff, initBytes) }
    local denom = 0
    if lr > 0 then denom = h3 / lr + h2 end
    local z = {}
    for d = 1, dim do z[d] = -w[d] * denom end
    return initBytes .. S.pack(ff, unpack(z, 1, dim)) .. string.rep(string.char(0), 4 * dim) .. tail
  end
  return initBytes .. string.rep(string.char(0), 8 * dim) .. S.pack('<i4', 0) .. tail
end

-- One optimizer step of the record rec with gradient g (dim doubles holding float32 values).
-- occ (frequency-aware records only, else nil): the step's occurrences of the row, added to the
-- record's count before l2 / max(1, count) is used as the row's l2.
local function stepRecord(S, kind, dim, lr, l2, h1, h2, h3, rec, g, occ)
  local spack, sunpack, f32 = S.pack, S.unpack, S.f32
  local ff = '<' .. string.rep('f', dim)
  local w = { sunpack(ff, rec) }
  local pos = 4 * dim + 1
  local tail = ''
  if occ then
    local count = (sunpack('<i4', rec, recordBytes(kind, dim) + 1)) + occ
    tail = spack('<i4', count)
    l2 = l2 / math.max(1, count)
  end
  if l2 > 0 then
    for d = 1, dim do g[d] = f32(g[d] + l2 * w[d]) end
  end
  if kind == 'sgd' then
    for d = 1, dim do w[d] = w[d] - lr * g[d] end
    return spack(ff, unpack(w, 1, dim)) .. tail
  elseif kind == 'adagrad' then
    local acc = (sunpack('<f', rec, pos))
    local sq = 0
    for d = 1, dim do sq = sq + g[d] * g[d] end
    acc = f32(acc + sq * (1 / dim))
    local scale = lr / (math.sqrt(acc) + h2)
    for d = 1, dim do w[d] = w[d] - scale * g[d] end
    return spack(ff, unpack(w, 1, dim)) .. spack('<f', acc) .. tail
  elseif kind == 'ftrl' then
    -- FTRL-proximal per coordinate, in SparseFtrl.applyRows' order (alpha = lr; h1 l1, h2 l2, h3 beta).
    if lr == 0 then return string.sub(rec, 1, 12 * dim) .. tail end
    local z = { sunpack(ff, rec, pos) }
    local nn = { sunpack(ff, rec, pos + 4 * dim) }
    local l1, l2f, beta = h1, h2, h3
    local invAlpha = 1 / lr
    for d = 1, dim do
      local gd = g[d]
      local n0 = nn[d]
      local nNew = n0 + gd * gd
      local sqrtNew = math.sqrt(nNew)
      local zd = z[d] + gd - (sqrtNew - math.sqrt(n0)) * invAlpha * w[d]
      z[d] = zd
      nn[d] = nNew
      local absZ = zd
      if zd < 0 then absZ = -zd end
      if absZ <= l1 then
        w[d] = 0
      else
        local sl1 = l1
        if zd < 0 then sl1 = -l1 end
        w[d] = -(zd - sl1) / ((beta + sqrtNew) * invAlpha + l2f)
      end
    end
    return spack(ff, unpack(w, 1, dim)) .. spack(ff, unpack(z, 1, dim)) .. spack(ff, unpack(nn, 1, dim)) .. tail
  end
  local m = { sunpack(ff, rec, pos) }
  local v = { sunpack(ff, rec, pos + 4 * dim) }
  local t = (sunpack('<i4', rec, pos + 8 * dim)) + 1
  local b1, b2, eps = h1, h2, h3
  local stepSize = lr / (1 - b1 ^ t)
  local invSqrtBc2 = 1 / math.sqrt(1 - b2 ^ t)
  local omb1, omb2 = 1 - b1, 1 - b2
  for d = 1, dim do
    local gd = g[d]
    local md = b1 * m[d] + omb1 * gd
    local vd = b2 * v[d] + omb2 * gd * gd
    m[d] = md
    v[d] = vd
    w[d] = w[d] - (stepSize * md) / (math.sqrt(vd) * invSqrtBc2 + eps)
  end
  return spack(ff, unpack(w, 1, dim)) .. spack(ff, unpack(m, 1, dim)) .. spack(ff, unpack(v, 1, dim)) .. spack('<i4', t) .. tail
end

-- A stored value into its record and its pending round (nil when none).
local function split(S, cur)
  local n = #cur
  if n % 4 ~= 1 then return cur, nil end
  local t0 = n - TRAILER_BYTES
  local round, lr, l2, h1, h2, h3, kind, dim = S.unpack(TRAILER, cur, t0)
  local occ = nil
  local sumEnd = t0
  if kind >= FREQ_KIND then
    kind = kind - FREQ_KIND
    sumEnd = t0 - 4
    occ = (S.unpack('<i4', cur, sumEnd))
  end
  local sumStart = sumEnd - 4 * dim
  local sum = { S.unpack('<' .. string.rep('f', dim), cur, sumStart) }
  return string.sub(cur, 1, sumStart - 1), { round = round, lr = lr, l2 = l2, h1 = h1, h2 = h2, h3 = h3, kind = KIND_NAME[kind], dim = dim, sum = sum, occ = occ }
end

local function packPending(S, p)
  local occ, kind = '', KIND[p.kind]
  if p.occ then
    occ = S.pack('<i4', p.occ)
    kind = kind + FREQ_KIND
  end
  return S.pack('<' .. string.rep('f', p.dim), unpack(p.sum, 1, p.dim)) .. occ .. S.pack(TRAILER, p.round, p.lr, p.l2, p.h1, p.h2, p.h3, kind, p.dim) .. 'P'
end

-- The pending round's summed gradient applied to rec: ONE optimizer step, with the lr and
-- settings its first push carried (and, frequency-aware, the round's summed occurrences).
local function applyPending(S, rec, p)
  local g = {}
  for d = 1, p.dim do g[d] = p.sum[d] end
  return stepRecord(S, p.kind, p.dim, p.lr, p.l2, p.h1, p.h2, p.h3, rec, g, p.occ)
end

local function step(keys, args)
  local S = tools()
  local sunpack, f32 = S.unpack, S.f32
  local kind = args[1]
  local dim = tonumber(args[2])
  local lr = tonumber(args[3])
  local l2 = tonumber(args[4])
  local h1, h2, h3 = tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
  local round = args[8]
  if KIND[kind] == nil then
    return redis.error_reply('ESMM unknown optimizer ' .. tostring(kind))
  end
  local ff = '<' .. string.rep('f', dim)
  local created = 0
  local nrows = #keys
  local tagged = round ~= ''
  local r = tonumber(round)
  if tagged then
    nrows = nrows - 1
    local last = redis.call('GET', keys[#keys])
    if last and tonumber(last) >= r then
      return -1
    end
  end
  local grads, inits, flags, counts = args[9], args[10], args[11], args[12] or ''
  local freq = #counts > 0
  local rowBytes = 4 * dim
  local recLen = recordBytes(kind, dim)
  if freq then recLen = recLen + 4 end
  local absent = 0
  if grads == nil or inits == nil or flags == nil or #flags ~= nrows or #grads ~= nrows * rowBytes then
    return redis.error_reply('ESMM bad push: ' .. nrows .. ' rows but ' .. tostring(grads and #grads) .. ' gradient bytes')
  end
  if freq and #counts ~= 4 * nrows then
    return redis.error_reply('ESMM bad push: ' .. nrows .. ' rows but ' .. #counts .. ' occurrence-count bytes')
  end
  for i = 1, nrows do
    if flags:byte(i) == 49 then absent = absent + 1 end
  end
  if #inits ~= absent * rowBytes then
    return redis.error_reply('ESMM bad push: ' .. absent .. ' absent rows but ' .. #inits .. ' initial-vector bytes')
  end
  local initPos = 1
  for i = 1, nrows do
    local g = { sunpack(ff, grads, (i - 1) * rowBytes + 1) }
    local occ = nil
    if freq then occ = (sunpack('<i4', counts, 4 * (i - 1) + 1)) end
    local cur = redis.call('GET', keys[i])
    local sent = flags:byte(i) == 49
    local rec, p
    if not cur then
      if not sent then
        -- Only after a flush of the store; the rows before this one are written already.
        return redis.error_reply('ESMM row ' .. keys[i] .. ' is missing from the store and no initial vector was sent')
      end
      rec = initialRecord(S, kind, dim, lr, h1, h2, h3, string.sub(inits, initPos, initPos + rowBytes - 1), freq)
      created = created + 1
    else
      rec, p = split(S, cur)
      if #rec ~= recLen or (p and (p.kind ~= kind or p.dim ~= dim or (p.occ ~= nil) ~= freq)) then
        return redis.error_reply('ESMM row ' .. keys[i] .. ' holds another dim, optimizer or L2 form (' .. #cur .. ' bytes)')
      end
    end
    if sent then initPos = initPos + rowBytes end
    -- A pending sum of an earlier round is complete (the dense-sync barrier came between): apply it.
    if p and (not tagged or p.round < r) then
      rec = applyPending(S, rec, p)
      p = nil
    end
    local out
    if not tagged then
      out = stepRecord(S, kind, dim, lr, l2, h1, h2, h3, rec, g, occ)
    elseif p then
      -- Another worker's push of this round (or, after a fault, a later one): sum in float32.
      for d = 1, dim do p.sum[d] = f32(p.sum[d] + g[d]) end
      if freq then p.occ = p.occ + occ end
      out = rec .. packPending(S, p)
    else
      out = rec .. packPending(S, { round = r, lr = lr, l2 = l2, h1 = h1, h2 = h2, h3 = h3, kind = kind, dim = dim, sum = g, occ = occ })
    end
    redis.call('SET', keys[i], out)
  end
  if tagged then
    redis.call('SET', keys[#keys], round, 'EX', 86400)
  end
  return created
end

-- Rows as of the end of round args[1] - 1: a pending sum of an earlier round is applied (and
-- stored); one of that round or later (other workers already pushing) is left out of the reply.
-- args[1] '': every pending sum is applied. Absent rows read as nil.
local function read(keys, args)
  local S = tools()
  local round = args[1]
  local r = nil
  if round ~= '' then r = tonumber(round) end
  local out = {}
  for i = 1, #keys do
    local cur = redis.call('GET', keys[i])
    if not cur then
      out[i] = false
    else
      local rec, p = split(S, cur)
      if p and (r == nil or p.round < r) then
        rec = applyPending(S, rec, p)
        redis.call('SET', keys[i], rec)
      end
      out[i] = rec
    end
  end
  return out
end

redis.register_function(STEP_NAME, step)
redis.register_function(READ_NAME, read)
`.replace('STEP_NAME', `'${STEP_FUNCTION}'`).replace('READ_NAME', `'${READ_FUNCTION}'`);
