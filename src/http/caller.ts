import type { FastifyRequest } from 'fastify'
import type { Caller } from '../sessions/client-description.js'

/** The caller as services record it: the address through TRUST_PROXY, and the User-Agent as sent. */
export const callerOf = (request: FastifyRequest): Caller => ({ ip: request.ip, userAgent: request.headers['user-agent'] })
