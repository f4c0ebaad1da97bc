// The same tampering cases as verify.test.ts, against PostgreSQL (edited directly with SQL).
import { afterAll, describe } from 'vitest';
import { reusableTestPgFactory, serversAvailable } from '../store/testing/servers.js';
import { runTamperCases } from './tamper.case.js';

const available = await serversAvailable();

describe.runIf(available)('postgres', () => {
  const pg = reusableTestPgFactory(false);
  afterAll(() => pg.drop());
  runTamperCases('postgres', async () => {
    const store = await pg.factory();
    return {
      store,
      exec: async (sql) => {
        await store.pool.query(sql);
      },
      close: () => store.close(),
    };
  });
});
