import type { Socket } from 'node:net'
import { ProblemError } from '../errors/problem.js'

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 431: 'Request Header Fields Too Large' }

/**
 * Fastify's clientErrorHandler: Node rejected the request before Fastify saw it (headers over Node's
 * 16 KB limit, a malformed request line). Answer with a problem document anyway, then close.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ProblemError('header_too_large', 'The request headers are larger than this server accepts')
      : new ProblemError('validation_failed', 'The request could not be parsed as HTTP')
  const body = JSON.stringify(problem.toBody())
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_TEXT[problem.status] ?? 'Bad Request'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
}
