/**
 * Child process for the run-lock tests: `lock-holder.ts DIR [PURPOSE]` takes DIR's run lock, prints
 * `locked` (or `refused: <message>`) and keeps the lock until it is killed or its stdin closes.
 */
import { acquireRunLock } from '../../main/runs/store/lock.js';

const [dir, purpose] = process.argv.slice(2);
acquireRunLock(dir!, purpose ?? 'test').then(
  (lock) => {
    process.stdout.write('locked\n');
    process.stdin.resume();
    process.stdin.on('end', () => void lock.release().then(() => process.exit(0)));
  },
  (e: Error) => {
    process.stdout.write(`refused: ${e.message}\n`);
    process.exit(3);
  },
);
