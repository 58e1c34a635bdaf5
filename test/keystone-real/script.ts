// Running scripts/keystone-standalone.sh from the suite, and reading its KEY=VALUE output.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KeystonePair } from './provided-context.js';

export const KEYSTONE_SCRIPT = fileURLToPath(
  new URL('../../scripts/keystone-standalone.sh', import.meta.url),
);

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the script; `echo` prints its own progress lines (keystone-standalone: ...) as they come. */
export function runKeystoneScript(args: string[], echo = false): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [KEYSTONE_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!echo) return;
      for (const line of d.toString().split('\n')) {
        if (/^(keystone|ironic)-standalone/.test(line)) console.log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Runs the script and throws, with its stderr, unless it exits 0. */
export async function keystoneScript(args: string[]): Promise<Map<string, string>> {
  const res = await runKeystoneScript(args);
  if (res.code !== 0) {
    throw new Error(`keystone-standalone.sh ${args[0]} exited ${res.code}:\n${res.stderr}`);
  }
  return parseKeyValues(res.stdout);
}

/** KEY=VALUE lines; a key given twice keeps its last value (as the script's state.env). */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The pair as the test files see it, from `start`'s output (or DIR/state.env). */
export function pairFromKeyValues(kv: Map<string, string>): KeystonePair {
  const get = (key: string): string => {
    const value = kv.get(key);
    if (value === undefined || value === '') throw new Error(`keystone-standalone.sh printed no ${key}`);
    return value;
  };
  const num = (key: string): number => {
    const n = Number(get(key));
    if (!Number.isInteger(n)) throw new Error(`keystone-standalone.sh printed ${key}=${get(key)}`);
    return n;
  };
  const user = (prefix: 'ADMIN' | 'DEMO'): KeystonePair['admin'] => ({
    username: get(`${prefix}_USERNAME`),
    password: get(`${prefix}_PASSWORD`),
    projectName: get(`${prefix}_PROJECT_NAME`),
    userId: get(`${prefix}_USER_ID`),
    projectId: get(`${prefix}_PROJECT_ID`),
  });
  return {
    dir: get('KEYSTONE_DIR'),
    keystoneUrl: get('KEYSTONE_URL'),
    keystoneLog: get('KEYSTONE_LOG'),
    keystonePid: num('KEYSTONE_PID'),
    ironicUrl: get('IRONIC_URL'),
    ironicLog: get('IRONIC_LOG'),
    ironicPid: num('IRONIC_PID'),
    ironicBasicUrl: get('IRONIC_BASIC_URL'),
    ironicBasicLog: get('IRONIC_BASIC_LOG'),
    ironicBasicPid: num('IRONIC_BASIC_PID'),
    region: get('OS_REGION_NAME'),
    userDomainName: get('OS_USER_DOMAIN_NAME'),
    projectDomainName: get('OS_PROJECT_DOMAIN_NAME'),
    admin: user('ADMIN'),
    demo: user('DEMO'),
    appCredential: { id: get('APPCRED_ID'), secret: get('APPCRED_SECRET') },
    basic: { username: get('BASIC_USERNAME'), password: get('BASIC_PASSWORD') },
    cloudsYaml: get('CLOUDS_YAML'),
    envFile: get('OS_ENV_FILE'),
    tokenExpiration: num('TOKEN_EXPIRATION'),
    tokenCacheTime: num('TOKEN_CACHE_TIME'),
  };
}
