/** Addresses are stored and compared trimmed and lower-cased: one account per mailbox, however it is typed. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase()
