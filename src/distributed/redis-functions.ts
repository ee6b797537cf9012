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
 * FCALL esmm_step_v1 numkeys key1..keyN [marker]  kind dim lr l2 h1 h2 h3 round  grads inits flags
 *   kind: sgd | adagrad (h1 initialAccumulator, h2 eps) | adam (h1 beta1, h2 beta2, h3 eps)
 *   round: '' (always apply), or a worker's round number: then the LAST key is that worker's
 *   marker in this slot, and a call whose round is not above the marker's is skipped (returns
 *   -1). A push retried after a lost reply, or redone by a restarted worker, applies once.
 *   Every argument is checked before the first write (a function's writes are not rolled back).
 *   grads: N x dim float32, row i's summed gradient; flags: N characters, '1' where the caller saw
 *   the row absent: inits then holds that row's dim float32 initial weights (in row order), used
 *   only if the row is still absent. A row absent without an initial vector is an error, not a
 *   silent zero. (Three packed arguments instead of 2N: measured 2x less client time per push.)
 *   l2: the table's L2, added as l2 * w to the gradient (rounded to float32) before the step.
 * Returns the number of rows it created.
 */
export const FUNCTION_LIBRARY = 'esmm_v1';
export const STEP_FUNCTION = 'esmm_step_v1';

export const FUNCTION_SOURCE = `#!lua name=${FUNCTION_LIBRARY}
-- struct is not reachable while the library loads, only when a function runs: bind it per call.
local function step(keys, args)
  local spack, sunpack = struct.pack, struct.unpack
  local function f32(x)
    return (sunpack('<f', spack('<f', x)))
  end
  local kind = args[1]
  local dim = tonumber(args[2])
  local lr = tonumber(args[3])
  local l2 = tonumber(args[4])
  local h1, h2, h3 = tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
  local round = args[8]
  local ff = '<' .. string.rep('f', dim)
  local created = 0
  local nrows = #keys
  if round ~= '' then
    nrows = nrows - 1
    local last = redis.call('GET', keys[#keys])
    if last and tonumber(last) >= tonumber(round) then
      return -1
    end
  end
  local grads, inits, flags = args[9], args[10], args[11]
  local rowBytes = 4 * dim
  local absent = 0
  if grads == nil or inits == nil or flags == nil or #flags ~= nrows or #grads ~= nrows * rowBytes then
    return redis.error_reply('ESMM bad push: ' .. nrows .. ' rows but ' .. tostring(grads and #grads) .. ' gradient bytes')
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
    local cur = redis.call('GET', keys[i])
    local w
    local pos = rowBytes + 1
    local sent = flags:byte(i) == 49
    if not cur then
      if not sent then
        -- Only after a flush of the store; the rows before this one are applied already.
        return redis.error_reply('ESMM row ' .. keys[i] .. ' is missing from the store and no initial vector was sent')
      end
      w = { sunpack(ff, inits, initPos) }
      created = created + 1
    else
      w = { sunpack(ff, cur) }
    end
    if sent then initPos = initPos + rowBytes end
    if l2 > 0 then
      for d = 1, dim do g[d] = f32(g[d] + l2 * w[d]) end
    end
    local out
    if kind == 'sgd' then
      for d = 1, dim do w[d] = w[d] - lr * g[d] end
      out = spack(ff, unpack(w, 1, dim))
    elseif kind == 'adagrad' then
      local acc = f32(h1)
      if cur then acc = (sunpack('<f', cur, pos)) end
      local sq = 0
      for d = 1, dim do sq = sq + g[d] * g[d] end
      acc = f32(acc + sq * (1 / dim))
      local scale = lr / (math.sqrt(acc) + h2)
      for d = 1, dim do w[d] = w[d] - scale * g[d] end
      out = spack(ff, unpack(w, 1, dim)) .. spack('<f', acc)
    elseif kind == 'adam' then
      local m, v, t = {}, {}, 0
      if cur then
        m = { sunpack(ff, cur, pos) }
        v = { sunpack(ff, cur, pos + 4 * dim) }
        t = (sunpack('<i4', cur, pos + 8 * dim))
      else
        for d = 1, dim do m[d] = 0; v[d] = 0 end
      end
      t = t + 1
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
      out = spack(ff, unpack(w, 1, dim)) .. spack(ff, unpack(m, 1, dim)) .. spack(ff, unpack(v, 1, dim)) .. spack('<i4', t)
    else
      return redis.error_reply('ESMM unknown optimizer ' .. tostring(kind))
    end
    redis.call('SET', keys[i], out)
  end
  if round ~= '' then
    redis.call('SET', keys[#keys], round, 'EX', 86400)
  end
  return created
end

redis.register_function(STEP_NAME, step)
`.replace('STEP_NAME', `'${STEP_FUNCTION}'`);
