import net from 'node:net'

/**
 * A TCP proxy in front of MariaDB that a test can cut and restore, to play a database outage without
 * touching the shared server. A cut resets every open connection and refuses new ones, like a database
 * restart or a failover.
 */
export class TcpProxy {
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  #up = true
  port = 0

  constructor(
    readonly targetHost = '127.0.0.1',
    readonly targetPort = 3306,
  ) {
    this.#server = net.createServer((client) => this.#accept(client))
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
    return this.#up
  }

  #accept(client: net.Socket): void {
    if (!this.#up) {
      client.resetAndDestroy()
      return
    }
    const upstream = net.connect(this.targetPort, this.targetHost)
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
      socket.on('error', () => socket.destroy())
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  /** Resets every connection and refuses new ones until restore(). */
  cut(): void {
    this.#up = false
    for (const socket of this.#sockets) socket.resetAndDestroy()
    this.#sockets.clear()
  }

  restore(): void {
    this.#up = true
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
