// Types for build.mjs, which runs under plain node (npm run demo) and is imported by the e2e test.
export declare const SPA_DIST: string
export declare function buildSpa(options?: { outdir?: string; quiet?: boolean }): Promise<string>
