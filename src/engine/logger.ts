// One pino logger; a child per run. Redaction is configured here, once, so that no
// token, password or user data reaches a log line whatever a caller logs.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'adminPassword',
  '*.adminPassword',
  'admin_pass',
  '*.admin_pass',
  'userData',
  '*.userData',
  'user_data',
  '*.user_data',
  'configdrive',
  '*.configdrive',
  'configDrive',
  '*.configDrive',
  'secrets',
  '*.secrets',
  'authorization',
  '*.authorization',
];

/** Logs to stderr by default: stdout is for a command's result (and `--json`). */
export function createLogger(level: LevelWithSilent = 'info', stream?: DestinationStream): Logger {
  return pino(
    { level, base: undefined, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } },
    stream ?? pino.destination({ dest: 2, sync: true }),
  );
}
