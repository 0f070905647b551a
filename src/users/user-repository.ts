import type { User } from '../generated/prisma/client.js'
import type { Db } from '../db/prisma.js'
import { isUniqueViolation } from '../db/prisma-errors.js'
import type { Role } from '../tokens/claims.js'

export interface NewUser {
  id: string
  email: string
  passwordHash: string
  role?: Role
}

export type UserRecord = Pick<User, 'id' | 'email' | 'passwordHash' | 'role' | 'createdAt'>

const columns = { id: true, email: true, passwordHash: true, role: true, createdAt: true } as const

export function createUserRepository(prisma: Db) {
  return {
    findByEmail(email: string): Promise<UserRecord | null> {
      return prisma.user.findUnique({ where: { email }, select: columns })
    },

    findById(id: string): Promise<UserRecord | null> {
      return prisma.user.findUnique({ where: { id }, select: columns })
    },

    /** Inserts the user, or returns null when the email is already registered. */
    async create(user: NewUser): Promise<UserRecord | null> {
      try {
        return await prisma.user.create({ data: user, select: columns })
      } catch (error) {
        if (isUniqueViolation(error)) return null
        throw error
      }
    },

    async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
      await prisma.user.update({ where: { id }, data: { passwordHash }, select: { id: true } })
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>
