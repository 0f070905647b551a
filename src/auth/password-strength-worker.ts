// Runs in a worker thread (see password-strength.ts): zxcvbn is synchronous and can take tens of
// milliseconds on a crafted input, which must not stall the event loop serving token checks.
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

export interface StrengthTask {
  password: string
  userInputs: string[]
}

export interface StrengthResult {
  score: number
  warning: string | null
  suggestions: string[]
}

export default function estimate({ password, userInputs }: StrengthTask): StrengthResult {
  const { score, feedback } = zxcvbn.check(password, userInputs)
  return { score, warning: feedback.warning, suggestions: feedback.suggestions }
}
