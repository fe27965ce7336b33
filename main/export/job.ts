/**
 * Training job folders (issue 21 "Out"): `fastreid-job` and `rsb-job`. One folder that launches the
 * framework's own trainer as-is:
 *   config.yml   the graph and the run's settings as the framework's YACS config (core/config exporters,
 *                with their refusals), OUTPUT_DIR = `output` (train.sh passes the folder's absolute path)
 *   model.pth    fast-reid: the initial weights when given ({'model': …}, fast-reid's keys, main/export/fastreid-layout.ts),
 *                loaded by `MODEL.WEIGHTS` through its Checkpointer
 *   backbone.pth reid-strong-baseline: the initial backbone when weights are given (torchvision keys, loaded by
 *                `MODEL.PRETRAIN_PATH` with PRETRAIN_CHOICE imagenet: Baseline.base.load_param, the only way RSB
 *                starts from given weights without an optimizer file)
 * Every entry is a plain file (export manifests hash plain files only, main/export/folder.ts).
 *   train.sh     the launch command: fast-reid `tools/train_net.py --config-file … --num-gpus N --num-machines M
 *                --machine-rank R --dist-url URL` (fastreid/engine/launch.py; PyTorch DDP), RSB
 *                `tools/train.py --config_file=…` (single node)
 *   README.md    what to install, how to run on one machine and on several, how to bring the run back
 * A graph the framework cannot express is refused before anything is written (ExportError with the reasons).
 */
import { join } from 'node:path';
import { analyze, serializeDocument, weightSpecs, type GraphDoc, type Layer } from '../../core/index.js';
import { exportFastreidYaml, exportRsbYaml } from '../../core/config/index.js';
import { writeFileSynced } from '../io/files.js';
import { exportStateDict, slotSpecs, writeCheckpoint } from '../weights/index.js';
import { ExportError } from './errors.js';
import { writeFolderAtomic } from './folder.js';
import { checkFastreidModel, FR_WRAP_KEY, toFastreidLayout } from './fastreid-layout.js';

export const JOB_FORMATS = ['fastreid-job', 'rsb-job'] as const;
export type JobFormat = (typeof JOB_FORMATS)[number];

export interface JobOptions {
  /** GPUs per machine (fast-reid `--num-gpus`; RSB: CUDA devices 0…N−1 through MODEL.DEVICE_ID). */
  gpus?: number;
  /** Machines (fast-reid `--num-machines`; RSB trains on one). */
  machines?: number;
  /** Initial weights, `${layer}/${slot}` → tfjs layout. */
  weights?: Map<string, Float32Array>;
  /** Initial weights in PyTorch layout, `${layer}/${slot}` → values (as readExportWeights gives them): written as they are; used instead of `weights`. */
  torchWeights?: Map<string, Float32Array>;
}

/** PyTorch-layout values by `${layer}/${slot}` as a state dict (state_dict keys, torch shapes, the arrays themselves); ids of no slot are left out. */
function torchStateDict(layers: Layer[], torch: Map<string, Float32Array>): Map<string, { shape: number[]; data: Float32Array }> {
  const { byId } = slotSpecs(layers);
  return new Map([...torch].flatMap(([id, data]) => {
    const s = byId.get(id);
    return s ? [[s.key, { shape: s.shape, data }] as const] : [];
  }));
}

/** The document with OUTPUT_DIR set to the job's `output` folder (relative: train.sh passes the absolute path). */
function withOutputDir(doc: GraphDoc): GraphDoc {
  const training = (doc.training ?? undefined) as Record<string, unknown> | undefined;
  if (!training) return doc;
  const framework = { ...((training.framework as Record<string, unknown> | undefined) ?? {}), outputDir: 'output' };
  return { ...doc, training: { ...training, framework } } as GraphDoc;
}

/** The config text, or the reasons the framework cannot express the graph (nothing is written then). */
export function renderJobConfig(format: JobFormat, doc: GraphDoc, o: { weights?: boolean } = {}): { ok: true; text: string; warnings: string[] } | { ok: false; reasons: string[] } {
  const d = withOutputDir(doc);
  // With weights the job ships backbone.pth and train.sh loads it (rsbScript): the config's PRETRAIN_PATH is not the user's to fill in.
  const r = format === 'fastreid-job' ? exportFastreidYaml(d) : exportRsbYaml(d, o.weights ? { pretrainGiven: "train.sh sets MODEL.PRETRAIN_CHOICE 'imagenet' and MODEL.PRETRAIN_PATH to backbone.pth (the exported weights' backbone, in the job folder)" } : {});
  // A document without training settings gets the recipe's, without OUTPUT_DIR: the job's is `output`.
  return r.ok && !/^OUTPUT_DIR:/m.test(r.text) ? { ...r, text: `${r.text.replace(/\n*$/, '\n')}OUTPUT_DIR: 'output'\n` } : r;
}

function positiveInt(v: number | undefined, what: string): number {
  const n = v ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ExportError(`${what} must be a whole number from 1 to 1024 (got ${v})`);
  return n;
}

function fastreidScript(gpus: number, machines: number, weights: boolean): string {
  return `#!/usr/bin/env bash
# fast-reid training job written by ReID Studio. Runs fast-reid's own trainer (tools/train_net.py, PyTorch DDP).
#   one machine:      FASTREID_HOME=~/fast-reid FASTREID_DATASETS=~/datasets ./train.sh
#   several machines: on machine R (0 … NUM_MACHINES-1), with the rank-0 machine reachable at HOST:PORT:
#                     NUM_MACHINES=${Math.max(machines, 2)} DIST_URL=tcp://HOST:PORT FASTREID_HOME=… FASTREID_DATASETS=… ./train.sh R
# NUM_GPUS (per machine, default ${gpus}) and NUM_MACHINES (default ${machines}) override the exported values.
set -euo pipefail
JOB_DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
: "\${FASTREID_HOME:?set FASTREID_HOME to a fast-reid checkout (github.com/JDAI-CV/fast-reid)}"
: "\${FASTREID_DATASETS:?set FASTREID_DATASETS to the folder holding the datasets (fastreid/data/build.py)}"
export FASTREID_DATASETS
NUM_GPUS="\${NUM_GPUS:-${gpus}}"
NUM_MACHINES="\${NUM_MACHINES:-${machines}}"
MACHINE_RANK="\${1:-\${MACHINE_RANK:-0}}"
DIST_URL="\${DIST_URL:-auto}"
if [ "$NUM_MACHINES" -gt 1 ] && [ "$DIST_URL" = auto ]; then
  echo "train.sh: several machines need DIST_URL=tcp://<rank-0 host>:<free port> (the same on every machine)" >&2
  exit 2
fi
cd "$FASTREID_HOME"
exec python3 tools/train_net.py --config-file "$JOB_DIR/config.yml" \\
  --num-gpus "$NUM_GPUS" --num-machines "$NUM_MACHINES" --machine-rank "$MACHINE_RANK" --dist-url "$DIST_URL" \\
  OUTPUT_DIR "$JOB_DIR/output"${weights ? ' \\\n  MODEL.WEIGHTS "$JOB_DIR/model.pth" MODEL.BACKBONE.PRETRAIN False' : ''} "\${@:2}"
`;
}

function rsbScript(gpus: number, weights: boolean): string {
  const ids = Array.from({ length: gpus }, (_, i) => i).join(',');
  return `#!/usr/bin/env bash
# reid-strong-baseline training job written by ReID Studio. Runs RSB's own trainer (tools/train.py), one machine.
#   RSB_HOME=~/reid-strong-baseline RSB_DATASETS=~/datasets ./train.sh
set -euo pipefail
JOB_DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
: "\${RSB_HOME:?set RSB_HOME to a reid-strong-baseline checkout (github.com/michuanhaohao/reid-strong-baseline)}"
: "\${RSB_DATASETS:?set RSB_DATASETS to the folder holding the datasets (DATASETS.ROOT_DIR)}"
cd "$RSB_HOME"
exec python3 tools/train.py --config_file="$JOB_DIR/config.yml" \\
  MODEL.DEVICE_ID "('${ids}')" DATASETS.ROOT_DIR "('$RSB_DATASETS')" OUTPUT_DIR "('$JOB_DIR/output')"${weights ? ' \\\n  MODEL.PRETRAIN_CHOICE "(\'imagenet\')" MODEL.PRETRAIN_PATH "(\'$JOB_DIR/backbone.pth\')"' : ''} "$@"
`;
}

function readme(format: JobFormat, gpus: number, machines: number, weights: boolean, warnings: string[]): string {
  const fr = format === 'fastreid-job';
  const lines = fr
    ? [
        '# fast-reid training job (written by ReID Studio)',
        '',
        "Trains this model with fast-reid's own distributed trainer (`tools/train_net.py`, PyTorch DDP).",
        '',
        '## Install',
        '',
        '- a fast-reid checkout: `git clone https://github.com/JDAI-CV/fast-reid` and its requirements (`docs/INSTALL.md`: PyTorch with CUDA, yacs, termcolor, tabulate, faiss, …);',
        '- the dataset under one folder in fast-reid\'s layout (`datasets/README.md`), e.g. `$FASTREID_DATASETS/Market-1501-v15.09.15`.',
        '',
        '## Run',
        '',
        `One machine, ${gpus} GPU(s):`,
        '',
        '```sh',
        'FASTREID_HOME=~/fast-reid FASTREID_DATASETS=~/datasets ./train.sh',
        '```',
        '',
        'Several machines (run on each, R = 0 … M−1; the rank-0 machine must accept connections on PORT):',
        '',
        '```sh',
        `NUM_MACHINES=${Math.max(machines, 2)} DIST_URL=tcp://HOST0:29500 FASTREID_HOME=~/fast-reid FASTREID_DATASETS=~/datasets ./train.sh R`,
        '```',
        '',
        '`NUM_GPUS` sets the GPUs per machine. `SOLVER.IMS_PER_BATCH` in `config.yml` is the batch over all GPUs of all machines',
        '(fast-reid divides it by the world size), so P×K stays the same however many GPUs train.',
        'Extra `KEY VALUE` pairs after the machine rank are passed to fast-reid (e.g. `./train.sh 0 SOLVER.MAX_EPOCH 60`).',
        ...(weights ? ['', '`model.pth` (fast-reid\'s `{\'model\': …}` layout) is loaded through `MODEL.WEIGHTS`; ImageNet pretraining is off.'] : []),
      ]
    : [
        '# reid-strong-baseline training job (written by ReID Studio)',
        '',
        "Trains this model with reid-strong-baseline's own trainer (`tools/train.py`), on one machine.",
        '',
        '## Install',
        '',
        '- a reid-strong-baseline checkout: `git clone https://github.com/michuanhaohao/reid-strong-baseline` and its requirements',
        '  (PyTorch, torchvision, pytorch-ignite 0.1.2, yacs);',
        '- the dataset under one folder, e.g. `$RSB_DATASETS/market1501` (`data/datasets/market1501.py`).',
        '',
        '## Run',
        '',
        '```sh',
        'RSB_HOME=~/reid-strong-baseline RSB_DATASETS=~/datasets ./train.sh',
        '```',
        '',
        `GPUs ${Array.from({ length: gpus }, (_, i) => i).join(', ')} are used (MODEL.DEVICE_ID). reid-strong-baseline has no multi-machine training.`,
        ...(weights ? ['', "`backbone.pth` (torchvision keys) initialises the backbone through `MODEL.PRETRAIN_PATH` (PRETRAIN_CHOICE imagenet: `Baseline.base.load_param`); BNNeck and classifier start fresh, as RSB does."] : []),
      ];
  return [
    ...lines,
    '',
    '## Back into ReID Studio',
    '',
    'The trainer writes into `output/` here. Runs ▸ Import training folder… (or `reid-studio runs import output`) makes it a run: curves,',
    'evaluations and the last checkpoint, followed while training is still writing.',
    ...(warnings.length ? ['', '## Notes from the export', '', ...warnings.map((w) => `- ${w}`)] : []),
    '',
  ].join('\n');
}

/**
 * Writes a training job folder at `out` (replaced only when it holds an earlier export, main/export/folder.ts).
 * Throws ExportError with the reasons for a graph the framework cannot express (nothing written), bad
 * options or an unwritable target. Returns the files written and the exporters' notes.
 */
export async function exportJob(doc: GraphDoc, format: JobFormat, out: string, opts: JobOptions = {}): Promise<{ files: string[]; warnings: string[] }> {
  const gpus = positiveInt(opts.gpus, '--gpus');
  const machines = positiveInt(opts.machines, '--machines');
  if (format === 'rsb-job' && machines > 1) throw new ExportError('reid-strong-baseline trains on one machine (tools/train.py has no distributed launch): use --format fastreid-job for several machines');
  // Weights given in either layout: train.sh, README and the config say the job starts from them.
  const weights = !!(opts.torchWeights ?? opts.weights);
  const cfg = renderJobConfig(format, doc, { weights });
  if (!cfg.ok) throw new ExportError(`cannot export to ${format}: ${cfg.reasons.join('; ')}`);
  const warnings = [...cfg.warnings];
  const files = await writeFolderAtomic(out, format, async (dir) => {
    const written = ['config.yml', 'train.sh', 'README.md', 'graph.json'];
    await writeFileSynced(join(dir, 'config.yml'), cfg.text);
    await writeFileSynced(join(dir, 'train.sh'), format === 'fastreid-job' ? fastreidScript(gpus, machines, weights) : rsbScript(gpus, weights), 0o755);
    await writeFileSynced(join(dir, 'README.md'), readme(format, gpus, machines, weights, warnings));
    await writeFileSynced(join(dir, 'graph.json'), serializeDocument(doc));
    const given = opts.torchWeights ?? opts.weights;
    if (given) {
      const layers = analyze(doc.graph).layers;
      const state = opts.torchWeights ? torchStateDict(layers, opts.torchWeights) : exportStateDict(layers, given, { partial: true });
      const slots = layers.reduce((n, l) => n + weightSpecs(l).length, 0);
      if (given.size < slots) warnings.push(`${slots - given.size} of ${slots} weight slots have no value in the given weights: the framework initialises them`);
      if (format === 'fastreid-job') {
        checkFastreidModel(doc);
        await writeCheckpoint(join(dir, 'model.pth'), toFastreidLayout(state), { format: 'pth', wrap: FR_WRAP_KEY });
        written.push('model.pth');
      } else {
        const backbone = new Map([...state].filter(([k]) => k.startsWith('base.')).map(([k, v]) => [k.slice('base.'.length), v] as const));
        if (!backbone.size) throw new ExportError('the weights hold no backbone (base.*) tensors for reid-strong-baseline');
        await writeCheckpoint(join(dir, 'backbone.pth'), backbone, { format: 'pth' });
        written.push('backbone.pth');
      }
    }
    return written;
  });
  return { files, warnings };
}
