// One place that turns an openapi-fetch call into something the UI can show: the data, or a failure
// described from the API's problem document (RFC 9457), or from the network error when there is no answer.

export interface Problem {
  status: number
  code: string
  detail: string
}

export type Failure =
  | { kind: 'problem'; status: number; problem: Problem }
  | { kind: 'network'; message: string }

export type Outcome<T> = { ok: true; data: T; status: number } | { ok: false; failure: Failure }

export interface FetchResult<T> {
  data?: T
  error?: unknown
  response: Response
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return typeof candidate.code === 'string' && typeof candidate.detail === 'string'
}

function problemOf(response: Response, error: unknown): Problem {
  if (isProblem(error)) return error
  // Not our API's shape (a proxy's error page, say): still say what happened.
  const { status, statusText } = response
  return { status, code: `http_${status}`, detail: `The API answered ${status} ${statusText}` }
}

/** Awaits a call; never throws. A fetch that rejects (offline, refused by CORS) becomes a network failure. */
export async function attempt<T>(call: () => Promise<FetchResult<T>>): Promise<Outcome<T>> {
  let result: FetchResult<T>
  try {
    result = await call()
  } catch (error) {
    return { ok: false, failure: { kind: 'network', message: (error as Error).message } }
  }
  if (result.response.ok) return { ok: true, data: result.data as T, status: result.response.status }
  return {
    ok: false,
    failure: { kind: 'problem', status: result.response.status, problem: problemOf(result.response, result.error) },
  }
}

/** Words for people: the problem's detail (for validation_failed it already names every field) and its code. */
export function describeFailure(failure: Failure, apiBaseUrl: string): string {
  if (failure.kind === 'network') {
    // The browser hides why a cross-origin call failed from scripts; the console has the reason.
    return (
      `Cannot reach the API at ${apiBaseUrl} (${failure.message}). ` +
      "It may be down, or this page's origin may not be in its CORS_ORIGINS."
    )
  }
  return `${failure.problem.detail} (${failure.problem.code})`
}

export const problemCode = (failure: Failure) => (failure.kind === 'problem' ? failure.problem.code : undefined)
