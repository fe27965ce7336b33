import { describe, expect, it } from 'vitest';
import { buildPreset, DocumentError, DOCUMENT_LIMITS, parseDocument, serializeDocument } from '../../core/index.js';

/**
 * Document loading is bounded and says what is wrong without quoting the file (the reliability cases: an
 * error quoted the first bytes of a system file; a UTF-8 BOM was refused with a two-line message).
 */

function refusal(text: string): DocumentError {
  let err: unknown = null;
  try {
    parseDocument(text);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DocumentError);
  expect((err as Error).message).not.toMatch(/\n/);
  return err as DocumentError;
}

const secret = 'root:x:0:0:root:/root:/bin/bash';

describe('document errors never quote the file', () => {
  it('a system file, JSON in another format, a secret in format or version: the reason, not the bytes', () => {
    const cases: [string, string, RegExp][] = [
      [`${secret}\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n`, 'E_NOT_JSON', /^not valid JSON \(unexpected character at line 1, column 1\)$/],
      [`{"format": "${secret}"}`, 'E_NOT_A_DOCUMENT', /"format" is another string, expected "reid-studio-graph"/],
      [`{"format": "reid-studio-graph", "version": "${secret}"}`, 'E_INVALID_DOCUMENT', /invalid document version \(another string\)/],
      [`{"format": "reid-studio-graph", "version": 1, "graph": {"nodes": [{"id": "a", "kind": "${secret}"}], "edges": [] ,}}`, 'E_NOT_JSON', /^not valid JSON \(unexpected character at line 1, column 137\)$/],
      ['{"format": "reid-studio-graph",\n "version": 1,\n "graph" {}}', 'E_NOT_JSON', /^not valid JSON \(unexpected character at line 3, column 10\)$/],
      ['{"format": "reid-studio-graph", "version": ', 'E_NOT_JSON', /^not valid JSON \(the text ends early\)$/],
    ];
    for (const [text, code, msg] of cases) {
      const e = refusal(text);
      expect(e.code, text).toBe(code);
      expect(e.message, text).toMatch(msg);
      expect(e.message, text).not.toContain('root:');
    }
  });

  it('a UTF-8 byte-order mark is accepted', () => {
    const text = serializeDocument(buildPreset('resnet18'));
    expect(parseDocument(`\uFEFF${text}`)).toEqual(parseDocument(text));
  });
});

describe('nesting, list sizes and value counts are capped before the schema walks the document', () => {
  const wrap = (graph: string) => `{"format":"reid-studio-graph","version":1,"graph":${graph}}`;

  it(`nesting deeper than ${DOCUMENT_LIMITS.depth} levels (up to a million)`, () => {
    for (const depth of [DOCUMENT_LIMITS.depth + 1, 1_000_000]) {
      const e = refusal(wrap('['.repeat(depth) + ']'.repeat(depth)));
      expect(e.code).toBe('E_MALFORMED_DOCUMENT');
      expect(e.message).toBe(`invalid document: nested deeper than ${DOCUMENT_LIMITS.depth} levels`);
    }
    // Groups nested within the cap still load (a composite block inside a stage inside a group).
    const g = (d: number): unknown => (d === 0 ? undefined : { id: `g${d}`, kind: 'stage', name: 'g', params: {}, position: { x: 0, y: 0 }, group: g(d - 1) });
    const ok = parseDocument(wrap(JSON.stringify({ nodes: [{ id: 'a', kind: 'relu', group: g(20) }], edges: [] })));
    expect(ok.graph.nodes[0]!.group!.group!.id).toBe('g19');
  });

  it(`a list of more than ${DOCUMENT_LIMITS.arrayItems} items; more than ${DOCUMENT_LIMITS.values} values in all`, () => {
    const e = refusal(wrap(`{"nodes":[${'1,'.repeat(DOCUMENT_LIMITS.arrayItems)}1],"edges":[]}`));
    expect(e.code).toBe('E_MALFORMED_DOCUMENT');
    expect(e.message).toBe(`invalid document at graph.nodes: a list of ${DOCUMENT_LIMITS.arrayItems + 1} items (at most ${DOCUMENT_LIMITS.arrayItems})`);
    const lists = Array.from({ length: 21 }, () => `[${'0,'.repeat(99_999)}0]`).join(',');
    expect(refusal(wrap(`{"nodes":[],"edges":[],"x":[${lists}]}`)).message).toBe(`invalid document: more than ${DOCUMENT_LIMITS.values} values`);
  });
});
