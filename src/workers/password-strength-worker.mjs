// Runs in a piscina worker thread (see src/auth/password-strength.ts): zxcvbn is synchronous and can take
// tens of milliseconds on a crafted input, which must not stall the event loop serving token checks.
// Plain JavaScript so that a worker needs no TypeScript loader in development.
import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as english from '@zxcvbn-ts/language-en'

const zxcvbn = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...english.dictionary },
  graphs: common.adjacencyGraphs,
  translations: english.translations,
  // Beyond 64 characters a password is strong by length alone; these two bound the worst case (~40 ms).
  maxLength: 64,
  l33tMaxSubstitutions: 10,
})

/** @param {{ password: string, userInputs: string[] }} task */
export default function estimate({ password, userInputs }) {
  const { score, feedback } = zxcvbn.check(password, userInputs)
  return { score, warning: feedback.warning, suggestions: feedback.suggestions }
}
