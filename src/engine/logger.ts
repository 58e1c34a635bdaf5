// One pino logger; a child per run. Every log record passes the same redaction step as
// the event log (src/store/redact.ts), so one list of secret keys covers both: no token,
// password, user data or config drive reaches a log line whatever a caller logs.
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redact } from '../store/redact.js';

/** Logs to stderr by default: stdout is for a command's result (and `--json`). */
export function createLogger(level: LevelWithSilent = 'info', stream?: DestinationStream): Logger {
  return pino(
    { level, base: undefined, formatters: { log: (record) => redact(record) } },
    stream ?? pino.destination({ dest: 2, sync: true }),
  );
}
