// Types for serve.mjs, which runs under plain node (npm run demo) and is imported by the e2e test.
export interface SpaServer {
  /** http://host:port, no trailing slash: the SPA's origin. */
  url: string
  close(): Promise<void>
}
export declare function startSpaServer(options: {
  apiBaseUrl: string
  port?: number
  host?: string
  root?: string
}): Promise<SpaServer>
