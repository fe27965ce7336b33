/** Moved to main/io/paths.ts; this re-export keeps branches written before the move compiling. */
export { defaultDataDir, defaultDocumentsDir } from '../io/paths.js';
