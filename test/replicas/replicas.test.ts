// The replica scenarios (scenarios.ts) on a SQLite file shared by the processes of one host (WAL).
// The same scenarios run on PostgreSQL in test/pg/replicas.test.ts (npm run test:pg).
import { join } from 'node:path';
import { replicaScenarios } from './scenarios.js';

replicaScenarios({
  name: 'SQLite',
  fresh: (dir) => join(dir, 'runs.db'),
  cleanup: async () => undefined,
});
