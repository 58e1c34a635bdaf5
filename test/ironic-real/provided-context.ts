// What the real-Ironic global setup hands to the test files (vitest `provide`/`inject`).
// null: python3-ironic is not installed outside CI, and the suites skip.
declare module 'vitest' {
  export interface ProvidedContext {
    ironicUrl: string | null;
    ironicLog: string | null;
  }
}

export {};
