import type { z } from 'zod';

const count = (n: number | bigint) => Number(n).toLocaleString('en-US');
const a = (what: string) => (/^[aeiou]/.test(what) ? `an ${what}` : `a ${what}`);

/**
 * User wording of zod's built-in payload checks (zod 4 error map, passed per parse: a schema's own message,
 * e.g. "invalid run id (…)", wins over it; zod's precedence). "Too big: expected string to have <=120
 * characters" becomes "too long (5,000 characters; at most 120)". Returns undefined for zod's default text.
 */
export function payloadIssueText(iss: z.core.$ZodRawIssue): string | undefined {
  const input = iss.input;
  switch (iss.code) {
    case 'too_big':
      if (iss.origin === 'string') return `too long (${typeof input === 'string' ? `${count(input.length)} characters; ` : ''}at most ${count(iss.maximum)})`;
      if (iss.origin === 'array' || iss.origin === 'set') return `too many entries (${Array.isArray(input) ? `${count(input.length)}; ` : ''}at most ${count(iss.maximum)})`;
      return `too large (${typeof input === 'number' ? `${input}; ` : ''}${iss.inclusive === false ? 'must be below' : 'at most'} ${iss.maximum})`;
    case 'too_small':
      if (iss.origin === 'string') return Number(iss.minimum) <= 1 ? 'must not be empty' : `too short (at least ${count(iss.minimum)} characters)`;
      if (iss.origin === 'array' || iss.origin === 'set') return `needs at least ${count(iss.minimum)} ${Number(iss.minimum) === 1 ? 'entry' : 'entries'}`;
      return `too small (${typeof input === 'number' ? `${input}; ` : ''}${iss.inclusive === false ? 'must be above' : 'at least'} ${iss.minimum})`;
    case 'invalid_type':
      if (input === undefined) return 'missing';
      return `must be ${a(iss.expected)}${input === null ? ', not empty (null)' : `, not ${a(Array.isArray(input) ? 'list' : typeof input)}`}`;
    case 'invalid_value':
      return `must be ${iss.values.length === 1 ? String(iss.values[0]) : `one of ${iss.values.map(String).join(', ')}`}`;
    case 'unrecognized_keys':
      return `unknown ${iss.keys.length === 1 ? 'field' : 'fields'} ${iss.keys.join(', ')}`;
    default:
      return undefined;
  }
}

/** One line for a refused payload: the field, what is wrong with it, and the call it was for. */
export function payloadErrorText(method: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '';
  return `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'} — ${method}`;
}
