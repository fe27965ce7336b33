import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyze,
  buildPreset,
  DOC_VERSION,
  DocumentError,
  layerKindCounts,
  loadDocument,
  parseDocument,
  PRESET_NAMES,
  serializeDocument,
  summarize,
} from '../../core/index.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/documents/${name}`, import.meta.url), 'utf8');

describe('document format', () => {
  it('every preset round-trips byte-stable', () => {
    for (const name of PRESET_NAMES) {
      const text = serializeDocument(buildPreset(name));
      expect(serializeDocument(parseDocument(text))).toBe(text);
    }
  });

  it('reads the committed version-1 fixture (an expanded layer1, a statistics-frozen stem, 702 classes)', () => {
    const text = fixture('v1-resnet50_ibn_a.json');
    const doc = parseDocument(text);
    expect(serializeDocument(doc)).toBe(text);
    const a = analyze(doc.graph);
    expect(a.ok).toBe(true);
    expect(layerKindCounts(a).ibn_a).toBe(13);
    // resnet50_ibn_a + BNNeck on DukeMTMC-reID (702 ids).
    expect(summarize(doc.graph).totalParams).toBe(24_949_824);
    expect(doc.training).toEqual({ epochs: 60, batch: { p: 8, k: 4 } });
  });

  it('restore fills defaults for omitted optional fields', () => {
    const doc = loadDocument({
      format: 'reid-studio-graph',
      version: 1,
      graph: { nodes: [{ id: 'i', kind: 'input' }], edges: [{ source: 'i', target: 'x' }] },
    });
    expect(doc.graph.nodes[0]).toEqual({ id: 'i', kind: 'input', name: 'i', params: {}, position: { x: 0, y: 0 } });
    expect(doc.graph.edges[0]).toEqual({ id: 'i:out->x:in', source: 'i', sourcePort: 'out', target: 'x', targetPort: 'in' });
  });

  it('refuses a document from a newer version with a clear message', () => {
    const newer = { ...JSON.parse(fixture('v1-resnet50_ibn_a.json')), version: DOC_VERSION + 1 };
    expect(() => loadDocument(newer)).toThrow(DocumentError);
    expect(() => loadDocument(newer)).toThrow(/newer ReID Studio/);
  });

  it.each([
    ['not JSON', '{"format": ', 'E_NOT_JSON'],
    ['an array', '[]', 'E_NOT_A_DOCUMENT'],
    ['another format', '{"format":"keras","version":1}', 'E_NOT_A_DOCUMENT'],
    ['a bad version', '{"format":"reid-studio-graph","version":"one"}', 'E_INVALID_DOCUMENT'],
    ['nodes not a list', '{"format":"reid-studio-graph","version":1,"graph":{"nodes":{},"edges":[]}}', 'E_INVALID_DOCUMENT'],
    ['a NaN-like position', '{"format":"reid-studio-graph","version":1,"graph":{"nodes":[{"id":"a","kind":"relu","position":{"x":"1","y":0}}],"edges":[]}}', 'E_INVALID_DOCUMENT'],
    ['duplicate node ids', '{"format":"reid-studio-graph","version":1,"graph":{"nodes":[{"id":"a","kind":"relu"},{"id":"a","kind":"relu"}],"edges":[]}}', 'E_INVALID_DOCUMENT'],
  ])('refuses %s with code %s', (_what, text, code) => {
    try {
      parseDocument(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DocumentError);
      expect((e as DocumentError).code).toBe(code);
    }
  });

  it('never crashes on random malformed documents: either a document or a DocumentError', () => {
    const base = JSON.parse(fixture('v1-resnet50_ibn_a.json'));
    const mutate = fc.tuple(fc.array(fc.oneof(fc.constantFrom('format', 'version', 'graph', 'nodes', 'edges', 'params', 'position', 'id', 'kind', 'group', 'x', '0', '3')), { minLength: 1, maxLength: 4 }), fc.jsonValue());
    fc.assert(
      fc.property(fc.array(mutate, { maxLength: 5 }), fc.jsonValue(), (mutations, junk) => {
        const doc = structuredClone(base);
        for (const [path, value] of mutations) {
          let o: Record<string, unknown> = doc;
          for (const k of path.slice(0, -1)) {
            const next = o?.[k];
            if (typeof next !== 'object' || next === null) break;
            o = next as Record<string, unknown>;
          }
          if (typeof o === 'object' && o !== null) o[path[path.length - 1]!] = value;
        }
        for (const raw of [doc, junk]) {
          try {
            const d = loadDocument(raw);
            analyze(d.graph); // a loaded document always analyses without throwing
            expect(serializeDocument(parseDocument(serializeDocument(d)))).toBe(serializeDocument(d));
          } catch (e) {
            if (!(e instanceof DocumentError)) throw e;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
