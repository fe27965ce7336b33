/**
 * weights.inspect never runs on the browser-mode server's event loop (issue #25: a 4.3 MB torch.save of
 * 5,000 views of one storage parsed on the loop made every other call time out). The file is written by
 * real torch.save; while the server reads and maps it against a graph, other calls keep being answered.
 * Asserted by order of completion, not by time: the calls made while the inspection runs all complete
 * before it does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPreset, serializeDocument } from '../../core/index.js';
import type { CallOutput } from '../../core/api/contract.js';
import { apiCall, cleanup, serve, type Served } from '../e2e/harness.js';
import { PYTHON } from '../parity/fixtures.js';

let s: Served;
let dir: string;

const call = <T = unknown>(method: string, payload: unknown) => apiCall<T>(s, method, payload);

beforeAll(async () => {
  s = await serve();
  dir = mkdtempSync(join(tmpdir(), 'reid-offloop-'));
  // 20,000 views of one storage under ResNet-like names: the load plan weighs every key against the graph.
  execFileSync(PYTHON, ['-c', "import sys,torch; s=torch.zeros(1<<16); torch.save({f'base.layer{i%4+1}.{i}.conv{i%3+1}.weight': s for i in range(20000)}, sys.argv[1])", join(dir, 'shared.pth')]);
});
afterAll(async () => {
  expect(await s.stop()).toBe(0);
  cleanup(s.home, s.docs, dir);
});

describe('weights.inspect off the event loop', () => {
  it('other calls are answered while a checkpoint is read and mapped', async () => {
    const graph = { kind: 'doc', text: serializeDocument(buildPreset('resnet18', { input: [64, 32], numClasses: 11 })) };
    let inspected = false;
    const inspect = call<CallOutput<'weights.inspect'>>('weights.inspect', { path: join(dir, 'shared.pth'), graph }).then((r) => {
      inspected = true;
      return r;
    });
    const answeredBefore: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const info = await call('app.info', {});
      expect(info.ok).toBe(true);
      answeredBefore.push(!inspected);
    }
    const r = await inspect;
    expect(r.ok).toBe(true);
    expect(r.result.count).toBe(20000);
    expect(r.result.report!.counts.tensors).toBe(20000);
    expect(answeredBefore.filter(Boolean).length).toBe(20);
  });
});
