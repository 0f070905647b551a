import type { Clock } from '../clock.js'
import type { Database } from '../db/prisma.js'
import { ProblemError } from '../errors/problem.js'
import type { AuthEventRepository } from '../events/auth-event-repository.js'
import type { RevokedTokenRepository } from '../tokens/revoked-token-repository.js'
import { describeClient, type Caller } from './client-description.js'
import { livenessAt, type LiveSession, type SessionRepository } from './session-repository.js'

export interface SessionServiceDeps {
  sessions: Pick<SessionRepository, 'listLive' | 'findLive'>
  revocations: Pick<RevokedTokenRepository, 'revokeFamily'>
  events: Pick<AuthEventRepository, 'record'>
  transaction: Database['transaction']
  clock: Clock
  refreshIdleTimeoutSeconds: number
}

export interface SessionView extends LiveSession {
  /** The session the caller's access token was minted for (its `sid`). */
  current: boolean
}

const notFound = () => new ProblemError('not_found', 'You have no live session with this id')

/**
 * "Where you're signed in": the user's live sessions, and ending them. Ending one writes its family's
 * denylist row, the row refresh checks first, so its refresh token answers 401 from then on; the event
 * goes into the same transaction, written only by the call whose row went in.
 */
export function createSessionService(deps: SessionServiceDeps) {
  const { sessions, revocations, events, transaction, clock } = deps

  const liveAt = (nowMs: number) => livenessAt(nowMs, deps.refreshIdleTimeoutSeconds)

  return {
    async list(userId: string, currentSessionId: string): Promise<SessionView[]> {
      const live = await sessions.listLive(userId, liveAt(clock.now()))
      return live.map((session) => ({ ...session, current: session.id === currentSessionId }))
    },

    /** Ends one live session of the user; not_found for any other id, another user's included. */
    async end(userId: string, sessionId: string, caller: Caller): Promise<void> {
      const nowMs = clock.now()
      const at = new Date(nowMs)
      await transaction(async (tx) => {
        const session = await sessions.findLive(userId, sessionId, liveAt(nowMs), tx)
        if (!session) throw notFound()
        const won = await revocations.revokeFamily(
          { familyId: session.id, userId, reason: 'logout', revokedAt: at, expiresAt: session.expiresAt },
          tx,
        )
        // Ended a moment ago by another call: that call recorded it.
        if (!won) return
        const { ip, device } = describeClient(caller)
        await events.record({ type: 'session_revoked', userId, sessionId: session.id, ip, device, at, details: { reason: 'ended_from_list' } }, tx)
      })
    },

    /** Ends every live session of the user but `keepSessionId`, in one transaction. Returns how many ended. */
    async endOthers(userId: string, keepSessionId: string, caller: Caller): Promise<number> {
      const nowMs = clock.now()
      const at = new Date(nowMs)
      const { ip, device } = describeClient(caller)
      return transaction(async (tx) => {
        const others = (await sessions.listLive(userId, liveAt(nowMs), tx)).filter((session) => session.id !== keepSessionId)
        let ended = 0
        for (const session of others) {
          const won = await revocations.revokeFamily(
            { familyId: session.id, userId, reason: 'logout', revokedAt: at, expiresAt: session.expiresAt },
            tx,
          )
          if (!won) continue
          ended++
          await events.record({ type: 'session_revoked', userId, sessionId: session.id, ip, device, at, details: { reason: 'ended_others' } }, tx)
        }
        return ended
      })
    },
  }
}

export type SessionService = ReturnType<typeof createSessionService>
