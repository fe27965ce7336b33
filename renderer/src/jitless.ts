/**
 * zod compiles object parsers with `new Function` when it may; to find out, it calls `Function('')` once,
 * which our Content-Security-Policy (`script-src 'self'`, no 'unsafe-eval') refuses and Chromium reports as
 * a console error. `jitless` tells zod to skip the probe and use its interpreted parsers, which give the same
 * results (zod v4 `packages/zod/src/v4/core/util.ts`, `allowsEval`). Imported first by main.tsx, before any
 * schema is parsed.
 */
import { config } from 'zod';

config({ jitless: true });
