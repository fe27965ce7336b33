import { describe, expect, it } from 'vitest';
import { analyze, buildPreset, DocumentError, parseDocument, serializeDocument } from '../../core/index.js';

/**
 * Tryout finding: a file with two connections sharing one id (a healthy input→stem and one to a node that is
 * gone) opened with "connection input:out->stem:in refers to a node that does not exist", naming the healthy one.
 */
function withEdges(extra: unknown[], drop?: string): string {
  const doc = JSON.parse(serializeDocument(buildPreset('resnet18')));
  doc.graph.edges = [...doc.graph.edges.filter((e: { id: string }) => e.id !== drop), ...extra];
  return JSON.stringify(doc);
}

function refusal(text: string): string {
  try {
    parseDocument(text);
  } catch (e) {
    expect(e).toBeInstanceOf(DocumentError);
    return (e as DocumentError).message;
  }
  throw new Error('parseDocument accepted the document');
}

describe('connection ids in an opened document', () => {
  it('a duplicate connection id is reported as such', () => {
    const ghost = { id: 'input:out->stem:in', source: 'input', sourcePort: 'out', target: 'removed_block', targetPort: 'in' };
    expect(refusal(withEdges([ghost]))).toBe('invalid document: connection id "input:out->stem:in" is used twice');
  });

  it('the same connection listed twice without ids is reported as listed twice', () => {
    expect(refusal(withEdges([{ source: 'input', target: 'stem' }]))).toBe('invalid document: connection input:out->stem:in is listed twice');
  });

  it('a connection to a missing node names that node', () => {
    const doc = parseDocument(withEdges([{ id: 'e9', source: 'input', sourcePort: 'out', target: 'removed_block', targetPort: 'in' }]));
    const bad = analyze(doc.graph).diagnostics.filter((d) => d.code === 'E_BAD_EDGE');
    expect(bad.map((d) => d.message)).toEqual(['connection e9 refers to a node "removed_block", which does not exist']);
  });
});
