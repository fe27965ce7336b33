import { basename } from 'node:path';
import { buildTorchvisionReid, type GraphDoc } from '../../core/index.js';
import { CheckpointError, detectSourceModel, readCheckpoint } from '../weights/index.js';
import { CliError } from './errors.js';

/**
 * `--source-model`: the graph of the model a torchreid / Person_reID_baseline_pytorch checkpoint holds
 * (main/weights/source-model.ts, core/presets/torchvision.ts), with the input size of `given`'s image input
 * and the last stride given (`--last-stride`) or the code base's default (torchreid resnet50_fc512: 1, its plain
 * ResNets and ft_net: 2). Says on stderr what it built. CliError when the file is none of those models.
 */
export async function sourceModelDoc(given: GraphDoc, weights: string, lastStride: string | undefined): Promise<GraphDoc> {
  let source;
  try {
    source = detectSourceModel(await readCheckpoint(weights));
  } catch (e) {
    if (e instanceof CheckpointError || (e as NodeJS.ErrnoException).code) throw new CliError(`${weights}: ${(e as Error).message}`);
    throw e;
  }
  if (!source)
    throw new CliError(`--source-model: ${basename(weights)} is not a checkpoint of a torchvision-ResNet re-ID model this version knows (torchreid resnet*/resnet*_fc*, Person_reID_baseline_pytorch ft_net); embed it with a graph (GRAPH.json or --preset)`);
  const input = given.graph.nodes.find((n) => n.kind === 'input');
  const stride = lastStride === undefined ? source.spec.lastStride : (Number(lastStride) as 1 | 2);
  process.stderr.write(`reid-studio: --source-model: ${source.description}; last stride ${stride}${lastStride === undefined ? ` (${source.framework}'s default)` : ''}\n`);
  return buildTorchvisionReid({ ...source.spec, lastStride: stride, input: [Number(input?.params.height ?? 256), Number(input?.params.width ?? 128)] });
}
