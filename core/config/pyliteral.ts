/**
 * Python's `ast.literal_eval` (CPython 3.11 semantics) for the literal kinds yacs configs hold, as yacs
 * `CfgNode._decode_cfg_value` applies it to every string leaf: str (with r/u prefixes, escapes and
 * implicit concatenation), int (decimal, 0x / 0o / 0b, `_` separators), float (`1e-4`, `.5`, `1.`), one
 * unary sign on a number (`-(1)` too, not `--1` nor `-True`), tuple (`(x)` is x, `(x,)` a tuple), list,
 * True / False / None, with `#` comments and whitespace as the tokenizer allows.
 *
 * Returns undefined when the text is not such a literal (yacs then keeps the string). Porting note: the
 * literal kinds no config key takes — dict, set, bytes, complex, Ellipsis, f-strings — also return
 * undefined (the string is kept) where Python would build the object; tuples and lists are both arrays.
 */

class NotLiteral extends Error {}

const fail = (): never => {
  throw new NotLiteral();
};

const DIGITS = '(?:\\d(?:_?\\d)*)';
const NUMBER = new RegExp(
  '^(?:' +
    '0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+' + // prefixed ints
    `|(?:${DIGITS}?\\.${DIGITS}|${DIGITS}\\.?)(?:[eE][-+]?${DIGITS})?` + // floats and decimal ints
    ')',
);

const SIMPLE_ESC: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

type Lit = string | number | boolean | null | Lit[];
/** A parsed literal; `num` marks a bare number constant (`int` an int one), `signed` one with its unary sign. */
interface Item {
  v: Lit;
  num: boolean;
  int?: boolean;
  signed: boolean;
}

class P {
  i = 0;
  constructor(readonly s: string) {}

  /** Skips spaces, tabs, comments; newlines only inside brackets (depth > 0) or at the very end. */
  ws(depth: number): void {
    const s = this.s;
    for (;;) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\f') this.i++;
      else if (c === '\\' && s[this.i + 1] === '\n') this.i += 2;
      else if (c === '#') while (this.i < s.length && s[this.i] !== '\n') this.i++;
      else if ((c === '\n' || c === '\r') && (depth > 0 || /^\s*$/.test(s.slice(this.i).replace(/#[^\n]*/g, '')))) this.i++;
      else return;
    }
  }

  /** One literal (a tuple, list, string, number, or True / False / None). */
  value(depth: number): Item {
    this.ws(depth);
    const s = this.s;
    const c = s[this.i];
    if (c === undefined) fail();
    if (c === '-' || c === '+') {
      this.i++;
      const inner = this.value(depth);
      if (!inner.num || inner.signed) fail();
      const x = inner.v as number;
      // Python ints have no -0 (`-0` is 0, `-0.0` is -0.0).
      return { v: c === '-' && !(x === 0 && inner.int) ? -x : x, num: true, int: inner.int, signed: true };
    }
    if (c === '(' || c === '[') {
      if (depth >= 199) fail(); // CPython's tokenizer: "too many nested parentheses" (MAXLEVEL 200)
      const close = c === '(' ? ')' : ']';
      this.i++;
      const items: Item[] = [];
      let comma = false;
      this.ws(depth + 1);
      while (s[this.i] !== close) {
        items.push(this.value(depth + 1));
        this.ws(depth + 1);
        if (s[this.i] === ',') {
          comma = true;
          this.i++;
          this.ws(depth + 1);
        } else if (s[this.i] !== close) fail();
      }
      this.i++;
      // `(x)` is x itself in Python's grammar (no node), so `-(1)` is still a signed constant.
      if (c === '(' && items.length === 1 && !comma) return items[0]!;
      return { v: items.map((x) => x.v), num: false, signed: false };
    }
    if (c === '{') fail(); // dict / set: not a config value kind
    if (c === '.' && s.startsWith('...', this.i)) fail(); // Ellipsis
    const str = this.strings(depth);
    if (str !== undefined) return { v: str, num: false, signed: false };
    const m = NUMBER.exec(s.slice(this.i));
    if (m && m[0] !== '.') {
      this.i += m[0].length;
      if (/^[\w.]/.test(s[this.i] ?? '')) fail(); // 50x, 1j (complex), 1.2.3, 08 handled below
      const t = m[0].replace(/_/g, '');
      let v: number;
      if (/^0[xX]/.test(t)) v = parseInt(t.slice(2), 16);
      else if (/^0[oO]/.test(t)) v = parseInt(t.slice(2), 8);
      else if (/^0[bB]/.test(t)) v = parseInt(t.slice(2), 2);
      else {
        // Decimal ints may not have leading zeros unless all zeros ("leading zeros in decimal integer literals").
        if (/^0\d/.test(t) && !/[.eE]/.test(t) && !/^0+$/.test(t)) fail();
        v = Number(t);
      }
      return { v, num: true, int: !/[.eE]/.test(t) || /^0[xXoObB]/.test(t), signed: false };
    }
    for (const [word, v] of [['True', true], ['False', false], ['None', null]] as const) {
      if (s.startsWith(word, this.i) && !/\w/.test(s[this.i + word.length] ?? '')) {
        this.i += word.length;
        return { v, num: false, signed: false };
      }
    }
    return fail();
  }

  /** One or more adjacent string literals (concatenated), or undefined when none starts here. */
  strings(depth: number): string | undefined {
    let out: string | undefined;
    for (;;) {
      const m = /^([rRuUbBfF]{0,2})('''|"""|'|")/.exec(this.s.slice(this.i));
      if (!m) return out;
      const prefix = m[1]!.toLowerCase();
      if (prefix && !['r', 'u'].includes(prefix)) fail(); // bytes, f-strings, br/rb: not config values
      this.i += m[0].length;
      out = (out ?? '') + this.body(m[2]!, prefix === 'r');
      this.ws(depth);
    }
  }

  body(q: string, raw: boolean): string {
    const s = this.s;
    let out = '';
    for (;;) {
      if (this.i >= s.length) fail();
      if (s.startsWith(q, this.i)) {
        this.i += q.length;
        return out;
      }
      const c = s[this.i]!;
      if (c === '\n' && q.length === 1) fail();
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const e = s[this.i + 1];
      if (e === undefined) fail();
      if (raw) {
        out += c + e; // raw strings keep the backslash, but \<quote> does not end the string
        this.i += 2;
        continue;
      }
      this.i += 2;
      if (e! in SIMPLE_ESC) out += SIMPLE_ESC[e!];
      else if (/[0-7]/.test(e!)) {
        const oct = /^[0-7]{1,3}/.exec(s.slice(this.i - 1))![0];
        this.i += oct.length - 1;
        out += String.fromCodePoint(parseInt(oct, 8));
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail();
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail();
        out += String.fromCodePoint(cp);
        this.i += n;
      } else if (e === 'N') fail(); // \N{name}: unicode names are not tabled here
      else out += '\\' + e; // unknown escapes stay as written (a SyntaxWarning in Python)
    }
  }
}

/** Python `ast.literal_eval` for the literals configs contain; undefined when the text is not one. */
export function pyLiteral(text: string): unknown {
  // literal_eval strips leading spaces and tabs (3.10+); the rest must be one expression.
  const p = new P(text.replace(/^[ \t]+/, ''));
  try {
    const first = p.value(0).v;
    p.ws(0);
    if (p.s[p.i] !== ',') return p.i === p.s.length ? first : undefined;
    // A bare expression list is a tuple in eval mode: `256, 128` → (256, 128).
    const items = [first];
    while (p.s[p.i] === ',') {
      p.i++;
      p.ws(0);
      if (p.i === p.s.length) break;
      items.push(p.value(0).v);
      p.ws(0);
    }
    return p.i === p.s.length ? items : undefined;
  } catch (e) {
    if (e instanceof NotLiteral || e instanceof RangeError) return undefined;
    throw e;
  }
}
