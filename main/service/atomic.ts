/** Moved to main/io/files.ts (the one I/O module); this re-export keeps branches written before the move compiling. */
export { writeFileAtomic } from '../io/files.js';
