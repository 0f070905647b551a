/** Prisma's error codes where the situation is the same, so its documentation applies. */
export type MigrationErrorCode =
  | 'P3005'
  | 'P3008'
  | 'P3009'
  | 'P3011'
  | 'P3012'
  | 'P3017'
  | 'P3018'
  | 'P3019'
  | 'checksum_mismatch'
  | 'lock_timeout'

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'MigrationError'
  }
}
