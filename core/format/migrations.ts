/**
 * MIGRATIONS[v] turns a version-v document into version v+1. Version 1 is the first format, so there
 * are none yet; each future version adds one entry here and a fixture under test/fixtures/documents/.
 */
export const MIGRATIONS: Record<number, (doc: Record<string, unknown>) => Record<string, unknown>> = {};
