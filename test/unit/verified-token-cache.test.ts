import t from 'tap'
import { VerifiedTokenCache } from '../../src/tokens/verified-token-cache.js'

t.test('serves an entry until its expiry, never after', async (t) => {
  const cache = new VerifiedTokenCache<string>(10)
  cache.set('token', 'claims', 1000)
  t.equal(cache.get('token', 999), 'claims')
  t.equal(cache.get('token', 1000), 'claims')
  t.equal(cache.get('token', 1001), undefined)
  t.equal(cache.size, 0, 'an expired entry is dropped when found')
})

t.test('evicts the least recently used entry when full', async (t) => {
  const cache = new VerifiedTokenCache<number>(2)
  cache.set('a', 1, 10)
  cache.set('b', 2, 10)
  t.equal(cache.get('a', 0), 1, 'touch a: b is now the oldest')
  cache.set('c', 3, 10)
  t.equal(cache.size, 2)
  t.equal(cache.get('b', 0), undefined)
  t.equal(cache.get('a', 0), 1)
  t.equal(cache.get('c', 0), 3)
})

t.test('size 0 disables caching', async (t) => {
  const cache = new VerifiedTokenCache<number>(0)
  cache.set('a', 1, 10)
  t.equal(cache.get('a', 0), undefined)
})
