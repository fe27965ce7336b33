/**
 * A count with its noun in the right number for user-facing messages: `counted(1, 'image')` → "1 image",
 * `counted(3, 'identity', 'identities')` → "3 identities" (the "torch.chunk of 1 rows" class of wording bug).
 */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
