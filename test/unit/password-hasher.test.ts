import bcrypt from 'bcrypt'
import t from 'tap'
import { createPasswordHasher } from '../../src/auth/password-hasher.js'

const hasher = createPasswordHasher({ cost: 4, concurrency: 1, maxQueue: 100 })
t.teardown(() => hasher.close())

t.test('stores a versioned bcrypt hash and verifies it', async (t) => {
  const stored = await hasher.hash('correct horse battery staple')
  t.match(stored, /^v1:\$2b\$04\$/)
  t.same(await hasher.verify('correct horse battery staple', stored), { ok: true, needsRehash: false })
  t.same(await hasher.verify('correct horse battery stapler', stored), { ok: false, needsRehash: false })
})

t.test('no silent truncation: passwords that differ only after byte 72 do not match', async (t) => {
  const prefix = 'p'.repeat(72)
  const stored = await hasher.hash(`${prefix}-one`)
  t.equal((await hasher.verify(`${prefix}-two`, stored)).ok, false)
  t.equal((await hasher.verify(`${prefix}-one`, stored)).ok, true)
  // What plain bcrypt would have done:
  t.equal(await bcrypt.compare(`${prefix}-two`, await bcrypt.hash(`${prefix}-one`, 4)), true, 'plain bcrypt truncates')
})

t.test('normalises Unicode: composed and decomposed forms are the same password', async (t) => {
  const stored = await hasher.hash('caf\u00e9 au lait!')
  t.equal((await hasher.verify('cafe\u0301 au lait!', stored)).ok, true)
})

t.test('a legacy bare bcrypt hash verifies and asks to be upgraded', async (t) => {
  const legacy = await bcrypt.hash('imported password', 4)
  t.same(await hasher.verify('imported password', legacy), { ok: true, needsRehash: true })
  t.same(await hasher.verify('wrong', legacy), { ok: false, needsRehash: false })
})

t.test('a hash of another cost asks to be upgraded', async (t) => {
  const stronger = createPasswordHasher({ cost: 5, concurrency: 1, maxQueue: 10 })
  t.teardown(() => stronger.close())
  t.same(await stronger.verify('correct horse battery staple', await hasher.hash('correct horse battery staple')), {
    ok: true,
    needsRehash: true,
  })
})

t.test('an unknown format never matches', async (t) => {
  t.same(await hasher.verify('anything', 'md5:abc'), { ok: false, needsRehash: false })
})

t.test('sheds work past the queue bound with a 503 problem instead of queueing forever', async (t) => {
  const tiny = createPasswordHasher({ cost: 4, concurrency: 1, maxQueue: 1 })
  t.teardown(() => tiny.close())
  const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e', 'f'].map((password) => tiny.hash(password)))
  const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected')
  t.ok(rejected.length >= 4, `at most one running and one waiting: ${rejected.length} of 6 shed`)
  t.ok(results[0]?.status === 'fulfilled', 'the first is served')
  for (const { reason } of rejected) t.match(reason, { code: 'service_unavailable', status: 503 })
})
