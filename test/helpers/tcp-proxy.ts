import net from 'node:net'

type State = 'up' | 'cut' | 'stalled'

/**
 * A TCP proxy in front of MariaDB that a test can break, to play database outages without touching the
 * shared server. cut(): every open connection is reset and new ones are refused, like a restart or a
 * failover. stall(): connections stay open but nothing gets through, like a network that drops packets.
 */
export class TcpProxy {
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  #state: State = 'up'
  port = 0
  /** Added to every answer from the database, to widen the moments a test wants to hit. */
  latencyMs = 0

  constructor(
    readonly targetHost = '127.0.0.1',
    readonly targetPort = 3306,
  ) {
    // noDelay on both sides: with Nagle's algorithm and MariaDB's delayed ACKs every round trip through
    // the proxy would stall ~40 ms, and tests would measure the proxy instead of the server.
    this.#server = net.createServer({ noDelay: true }, (client) => this.#accept(client))
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (this.#server.address() as net.AddressInfo).port
    return this.port
  }

  get up(): boolean {
    return this.#state === 'up'
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }

  #accept(client: net.Socket): void {
    if (this.#state === 'cut') {
      client.resetAndDestroy()
      return
    }
    this.#track(client)
    const upstream = net.connect({ port: this.targetPort, host: this.targetHost, noDelay: true })
    this.#track(upstream)
    // Forwarded by hand rather than piped, so that a stall can swallow bytes in both directions.
    client.on('data', (data) => {
      if (this.#state === 'up') upstream.write(data)
    })
    upstream.on('data', (data) => {
      if (this.#state !== 'up') return
      // Equal delays fire in order, so the byte stream stays intact.
      if (this.latencyMs > 0) setTimeout(() => client.write(data), this.latencyMs)
      else client.write(data)
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  /** Resets every connection and refuses new ones until restore(). */
  cut(): void {
    this.#state = 'cut'
    for (const socket of this.#sockets) socket.resetAndDestroy()
    this.#sockets.clear()
  }

  /** Keeps connections open but lets nothing through until restore(). */
  stall(): void {
    this.#state = 'stalled'
  }

  /** Back to normal; connections broken by a stall stay broken (their protocol state is lost). */
  restore(): void {
    if (this.#state === 'stalled') {
      for (const socket of this.#sockets) socket.resetAndDestroy()
      this.#sockets.clear()
    }
    this.#state = 'up'
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
