import UAParser from 'ua-parser-js'

/** Who is calling, as the HTTP layer hands it to the services: parsed only when something records it. */
export interface Caller {
  /** The client address as the limits see it (through TRUST_PROXY). */
  ip: string
  userAgent?: string
}

/** Who is calling, as a session and an event record it. */
export interface ClientInfo {
  ip: string
  /** The User-Agent as sent, without control characters, at most USER_AGENT_MAX_CHARS; null when absent. */
  userAgent: string | null
  /** A short label a person recognises: "Firefox 133 on macOS", "curl 8.5.0". */
  device: string
}

export const USER_AGENT_MAX_CHARS = 512
const DEVICE_MAX_CHARS = 100
const UNKNOWN_DEVICE = 'Unknown device'

// Control characters would let a client forge lines in a log or a mail that quotes the device.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g

/** Cut to `max` characters (code points, as MariaDB's VARCHAR counts them), never inside a surrogate pair. */
const capped = (value: string, max: number) => {
  const characters = [...value]
  return characters.length <= max ? value : characters.slice(0, max).join('')
}

// ua-parser-js calls macOS "Mac OS"; people know it by its current name.
const OS_NAMES: Record<string, string> = { 'Mac OS': 'macOS' }

/**
 * The device label, from ua-parser-js (maintained, MIT in its 1.x line) for browsers and apps it knows;
 * for the rest (curl, Postman, HTTP libraries) the first product token of the header, "curl/8.5.0"
 * read as "curl 8.5.0".
 */
function deviceLabel(userAgent: string | null): string {
  if (!userAgent) return UNKNOWN_DEVICE
  const { browser, os } = new UAParser(userAgent).getResult()
  const osName = os.name ? (OS_NAMES[os.name] ?? os.name) : undefined
  if (browser.name) {
    const name = browser.major ? `${browser.name} ${browser.major}` : browser.name
    return capped(osName ? `${name} on ${osName}` : name, DEVICE_MAX_CHARS)
  }
  const product = /^([A-Za-z][\w.-]*)(?:\/([\w.-]+))?/.exec(userAgent)
  if (!product?.[1]) return UNKNOWN_DEVICE
  const name = product[2] ? `${product[1]} ${product[2]}` : product[1]
  return capped(osName ? `${name} on ${osName}` : name, DEVICE_MAX_CHARS)
}

export function describeClient(caller: Caller): ClientInfo {
  const cleaned = caller.userAgent?.replace(CONTROL_CHARACTERS, '').trim()
  const userAgent = cleaned ? capped(cleaned, USER_AGENT_MAX_CHARS) : null
  return { ip: caller.ip, userAgent, device: deviceLabel(userAgent) }
}
