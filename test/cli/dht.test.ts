/**
 * `watchmesh dht`: a private bootstrap node. It prints the `--bootstrap` value to hand out, and a
 * DHT node bootstrapping from it takes it into its routing table (a node that does not know its own
 * address has a random id, and clients reject it: nobody would ever find anybody).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import DHT from 'hyperdht'
import { runWatchmesh, spawnWatchmesh } from '../fixtures/watchmesh.js'
import { waitFor } from '../fixtures/wait.js'

test('dht: bad --port or --host is a usage error (exit 2) naming the flag', async () => {
  for (const [args, pattern] of [[['--port', '70000'], /--port/], [['--port', 'x'], /--port/], [['--host', 'example.org'], /--host/]] as const) {
    const r = await runWatchmesh(['dht', ...args])
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, pattern)
  }
})

test('dht: prints the --bootstrap value; a node bootstrapping from it has it in its routing table', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const node = spawnWatchmesh(['dht', '--host', '127.0.0.1', '--port', String(port)])
  const client = new DHT({ bootstrap: [{ host: '127.0.0.1', port }], host: '127.0.0.1' })
  try {
    await node.waitForLine(new RegExp(`^--bootstrap 127\\.0\\.0\\.1:${port}$`))
    await client.fullyBootstrapped()
    // On a loaded machine the bootstrap query can time out before the node answers, and a DHT node
    // queries again only every few minutes: ask again until it answers. A node with a wrong id
    // would be rejected every time, so this still fails.
    const nodes = await waitFor('the node in the client\'s routing table', () => {
      const known = client.toArray().map(n => `${n.host}:${n.port}`)
      if (known.length > 0) return known
      client.refresh()
      return false
    }, { timeoutMs: 30_000, intervalMs: 1_000 })
    assert.deepEqual(nodes, [`127.0.0.1:${port}`])
  } finally {
    await client.destroy()
    assert.equal(await node.stop(), 0, node.lines.join('\n'))
  }
  assert.ok(node.lines.some(l => /stopping the DHT node \(SIGTERM\)/.test(l)), node.lines.join('\n'))
})
