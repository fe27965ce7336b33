/**
 * `reid-studio <command> --help`: what each command does, every flag, and an example. One table, so the
 * usage line, the help page and README's CLI section are read from the same facts.
 */
export interface CommandHelp {
  /** One line: what the command is for. */
  summary: string;
  /** The synopsis (flags in brackets are optional). */
  usage: string;
  /** [flag, what it does]. */
  flags: [string, string][];
  /** Complete example command lines. */
  examples: string[];
}

const GRAPH_FLAGS: [string, string][] = [
  ['GRAPH.json', 'a graph document (.reidgraph / .json) saved by the app or `export --format graph`'],
  ['--preset NAME', 'build a preset instead (run `reid-studio presets`); default resnet50'],
  ['--neck bnneck|no', 'preset neck: BNNeck (default) or none'],
  ['--neck-feat after|before', 'preset eval feature: after (default) or before the BNNeck BN'],
  ['--last-stride 1|2', 'preset stride of layer4 (1 = the Bag-of-Tricks setting)'],
  ['--num-classes N', 'preset classifier size (training identities)'],
  ['--input HxW', 'input size, e.g. 256x128'],
  ['--freeze-backbone', 'freeze every backbone weight (BN statistics stay a separate choice)'],
];
const DATA_FLAGS: [string, string][] = [
  ['--demo', 'the built-in synthetic dataset (generated once, cached)'],
  ['--demo-size tiny|small|medium', 'size of the demo dataset'],
  ['--data DIR', 'a dataset folder (layout detected: Market-1501, DukeMTMC-reID, class folders, …)'],
  ['--layout NAME', 'force a dataset layout instead of detecting it'],
];
const PROGRESS_FLAG: [string, string] = ['--progress auto|bar|lines|json|none', 'progress on stderr: a bar on a terminal, plain lines otherwise (auto); json = one JSON event per line'];
const CHECKPOINT_FLAG: [string, string] = ['--checkpoint best|last', "with a run folder: its last checkpoint (default) or its best by mAP (kept as evaluations land during training, as fast-reid's model_best.pth)"];
const JSON_FLAG: [string, string] = ['--json', 'print the result as JSON on stdout (a script contract: fields are only added)'];

export const HELP: Record<string, CommandHelp> = {
  presets: { summary: 'list the preset model names', usage: 'presets', flags: [], examples: ['reid-studio presets'] },
  summary: {
    summary: 'layer table, parameter counts, feature size and problems of a graph',
    usage: 'summary [GRAPH.json | --preset NAME …] [--expand] [--json]',
    flags: [...GRAPH_FLAGS, ['--expand', 'list every PyTorch-named layer instead of blocks'], JSON_FLAG],
    examples: ['reid-studio summary --preset resnet50_ibn_a --last-stride 1', 'reid-studio summary model.reidgraph --expand --json | jq .totalParams'],
  },
  'demo-data': {
    summary: 'write the synthetic Market-1501-layout demo dataset',
    usage: 'demo-data --out DIR [--size tiny|small|medium] [--seed N] [--json]',
    flags: [['--out DIR', 'destination folder'], ['--size tiny|small|medium', 'number of identities / images (default small)'], ['--seed N', 'random seed (default 0)'], JSON_FLAG],
    examples: ['reid-studio demo-data --out demo --size tiny'],
  },
  serve: {
    summary: 'start browser mode; prints "ReID Studio: URL" (Ctrl-C stops)',
    usage: 'serve [--port N] [--no-open] [--data-dir DIR]',
    flags: [['--port N', 'port on 127.0.0.1 (default: a free one)'], ['--no-open', 'do not open a browser'], ['--data-dir DIR', 'where runs, recents and autosaves live']],
    examples: ['reid-studio serve --port 8765 --no-open'],
  },
  start: {
    summary: 'open the app: Electron when installed, else browser mode',
    usage: 'start [--browser | --electron] [--port N] [--no-open] [--data-dir DIR]',
    flags: [['--browser', 'force browser mode'], ['--electron', 'force the Electron window'], ['--port N', 'browser mode port'], ['--no-open', 'do not open a browser'], ['--data-dir DIR', 'where runs, recents and autosaves live']],
    examples: ['reid-studio start --browser'],
  },
  train: {
    summary: 'train a graph with the reid-strong-baseline recipe; Ctrl-C checkpoints and stops (exit 130)',
    usage: 'train [GRAPH.json | --preset NAME …] (--demo | --data DIR) [options] | train --resume RUN_DIR',
    flags: [
      ...GRAPH_FLAGS,
      ...DATA_FLAGS,
      ['--epochs N', 'number of epochs'],
      ['--batch P,K', 'P identities × K images per batch (default 16,4)'],
      ['--lr X', 'base learning rate'],
      ['--warmup-epochs N', 'linear warm-up length (0 = off)'],
      ['--eval-period N', 'evaluate every N epochs'],
      ['--seed N', 'random seed'],
      ['--weights FILE|RUN_DIR', 'pretrained weights (.pth / .safetensors, or a training run folder / RUN_DIR/best: its weights as its exported .pth; the load report is kept in the run)'],
      ['--out RUN_DIR', 'run folder (default runs/<name>-<time>)'],
      ['--backend NAME', 'compute backend: auto (default: webgpu on a hardware GPU that passes its smoke test, else onnxruntime when installed, all cores), webgpu, onnxruntime, or a tfjs backend (`reid-studio backend` lists them)'],
      ['--micro-batch N', 'images per forward/backward pass on tfjs (default: planned from memory; onnxruntime takes the whole batch)'],
      ['--resume RUN_DIR', 'continue a stopped or crashed run exactly where it left off'],
      PROGRESS_FLAG,
      ['--json', 'print {runDir, status, eval} on stdout when done'],
    ],
    examples: ['reid-studio train --preset resnet18 --demo --epochs 2 --batch 4,4 --input 64x32 --out runs/r18', 'reid-studio train --resume runs/r18 && reid-studio eval runs/r18 --json'],
  },
  eval: {
    summary: 'retrieval evaluation (mAP, CMC, mINP) of a run, or of a graph with weights',
    usage: 'eval [RUN_DIR | GRAPH.json | --preset NAME …] [--weights FILE] (--demo | --data DIR) [--metric cosine|euclidean] [--rerank] [--json] [--checkpoint best|last]',
    flags: [
      CHECKPOINT_FLAG,
      ['RUN_DIR', "a run folder: its last checkpoint, on its own dataset unless one is given"],
      ...GRAPH_FLAGS,
      ...DATA_FLAGS,
      ['--weights FILE', 'weights for a graph (.pth / .safetensors) or a run folder'],
      ['--metric cosine|euclidean', 'distance (default from the run / document settings)'],
      ['--rerank', 'k-reciprocal re-ranking (Zhong et al., CVPR 2017)'],
      ['--backend NAME', 'compute backend'],
      PROGRESS_FLAG,
      ['--json', 'print eval.json on stdout: mAP, rank1, rank5, rank10 (fractions), cmc, mINP, counts'],
    ],
    examples: ['reid-studio eval runs/r18 --json', 'reid-studio eval --preset resnet50 --weights rsb.pth --data Market-1501 --rerank'],
  },
  embed: {
    summary: 'eval-mode features of every image in a folder',
    usage: 'embed [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out FEATS.npy|FEATS.safetensors|FEATS.json [--backend NAME] [--batch-size N] [--allow-partial] [--source-model] [--checkpoint best|last]',
    flags: [
      CHECKPOINT_FLAG,
      ...GRAPH_FLAGS,
      ['--weights FILE|RUN_DIR', 'weights (.pth / .safetensors), or a training run folder (its last checkpoint)'],
      ['--images DIR', 'folder of images (sorted by file name)'],
      ['--out FILE', 'format by extension: .npy (float32 N×D, file list in FILE.files.txt), .safetensors (tensor "features", file list in its metadata), .json ({files, features, backend, load})'],
      ['--backend NAME', 'compute backend'],
      ['--batch-size N', 'images per forward pass (default 16)'],
      ['--allow-partial', 'embed even when the weights leave tensors of the feature path randomly initialised (refused by default, exit 2)'],
      ['--source-model', "a torchreid / Person_reID_baseline_pytorch ft_net checkpoint: embed with its own model (torchvision's stem, its head) instead of the graph (which is refused when it differs, exit 2)"],
      PROGRESS_FLAG,
    ],
    examples: ['reid-studio embed --preset resnet50_ibn_a --weights model.pth --images query/ --out query.npy'],
  },
  actmap: {
    summary: "activation maps (torchreid's visualize_actmap) of every image in a folder, as overlaid PNGs",
    usage: 'actmap [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out DIR [--backend NAME] [--batch-size N] [--allow-partial] [--source-model] [--json] [--checkpoint best|last]',
    flags: [
      CHECKPOINT_FLAG,
      ...GRAPH_FLAGS,
      ['--weights FILE|RUN_DIR', 'weights (.pth / .safetensors), or a training run folder (its last checkpoint)'],
      ['--images DIR', 'folder of images (sorted by file name)'],
      ['--out DIR', 'folder for OUT/<image name>.png: the map overlaid on the image at the model input size (created if missing)'],
      ['--backend NAME', 'compute backend (the map is an extra output of the graph the engine evaluates)'],
      ['--batch-size N', 'images per forward pass (default 16)'],
      ['--allow-partial', 'draw maps even when the weights leave tensors of the feature path randomly initialised (refused by default, exit 2)'],
      ['--source-model', "a torchreid / Person_reID_baseline_pytorch ft_net checkpoint: draw with its own model (torchvision's stem, its head) instead of the graph (refused when it differs, exit 2)"],
      PROGRESS_FLAG,
      JSON_FLAG,
    ],
    examples: ['reid-studio actmap --weights runs/r50 --images query/ --out actmaps/', 'reid-studio actmap --preset resnet50_ibn_a --weights model.pth --images query/ --out actmaps/ --json'],
  },
  backend: {
    summary: 'the compute backend in use, why faster ones were skipped, the WebGPU adapter, and the GPU (CUDA / cuDNN) check',
    usage: 'backend [--backend NAME] [--json]',
    flags: [['--backend NAME', 'check one backend instead of the automatic choice'], JSON_FLAG],
    examples: ['reid-studio backend --json'],
  },
  weights: {
    summary: "list a checkpoint's tensors, or its load report for a graph",
    usage: 'weights FILE [GRAPH.json | --preset NAME …] [--keep-classifier] [--json]',
    flags: [['FILE', '.pth (zip or legacy) or .safetensors'], ...GRAPH_FLAGS, ['--keep-classifier', 'load the classifier too when its size matches'], JSON_FLAG],
    examples: ['reid-studio weights resnet50_ibn_a.pth --preset resnet50_ibn_a'],
  },
  export: {
    summary: 'export a graph (and weights) as a config, PyTorch code + weights, a tfjs model or ONNX',
    usage: 'export [GRAPH.json | --preset NAME …] --format FORMAT --out PATH [--weights FILE|RUN_DIR] [--layout rsb|fastreid] [--gpus N] [--machines M] [--json] [--checkpoint best|last]',
    flags: [
      CHECKPOINT_FLAG,
      ...GRAPH_FLAGS,
      ['--format FORMAT', 'graph | rsb-yaml | fastreid-yaml | pytorch | tfjs | onnx | fastreid-job | rsb-job'],
      ['--out PATH', 'a file (graph, YAML, ONNX) or a folder (pytorch, tfjs)'],
      ['--weights FILE|RUN_DIR', 'weights to export (a checkpoint file or a run folder)'],
      ['--layout rsb|fastreid', "pytorch: model.pth with reid-strong-baseline's keys (default) or fast-reid's ({'model': …}, backbone.* / heads.*)"],
      ['--fastreid-stem', 'fastreid-yaml: accept fast-reid\'s stem for a preset'],
      ['--gpus N', "fastreid-job / rsb-job: GPUs per machine (fast-reid --num-gpus; RSB MODEL.DEVICE_ID)"],
      ['--machines M', 'fastreid-job: machines (--num-machines; train.sh takes the machine rank and DIST_URL)'],
      JSON_FLAG,
    ],
    examples: ['reid-studio export runs/r18/graph.json --format pytorch --weights runs/r18 --out exported/', 'reid-studio export runs/r50/graph.json --format fastreid-job --weights runs/r50 --gpus 8 --machines 2 --out job/'],
  },
  runs: {
    summary: 'import a fast-reid / reid-strong-baseline training output folder as a run (read only; followed while it grows)',
    usage: 'runs import DIR [--name NAME] [--data DATASET_DIR] [--data-dir DIR] [--json]',
    flags: [
      ['DIR', "the framework's OUTPUT_DIR (fast-reid: config.yaml, metrics.json, model_*.pth; RSB: log.txt, <name>_model_<N>.pth)"],
      ['--name NAME', 'the run name (default: framework and folder name)'],
      ['--data DATASET_DIR', 'the dataset the run trained on (Evaluate on… uses it as the run\'s own)'],
      ['--data-dir DIR', 'the app\'s data folder whose runs/ receives the run (default: REID_STUDIO_HOME or the platform\'s)'],
      ['--json', 'print {runId, runDir, framework, source, steps, evals, skippedLines, checkpoint, ignored, warnings}'],
    ],
    examples: ['reid-studio runs import ~/fast-reid/logs/market1501/bagtricks_R50 --json'],
  },
  import: {
    summary: 'reid-strong-baseline / fast-reid YAML (with _BASE_) → graph document + training settings',
    usage: 'import CONFIG.yml --out GRAPH.json [--json]',
    flags: [['CONFIG.yml', 'a YACS config'], ['--out GRAPH.json', 'the document to write'], JSON_FLAG],
    examples: ['reid-studio import configs/Market1501/bagtricks_R50-ibn.yml --out r50ibn.reidgraph'],
  },
};

/** The help page of one command. */
export function commandHelp(name: string): string {
  const h = HELP[name];
  if (!h) return '';
  const width = Math.min(34, Math.max(0, ...h.flags.map(([f]) => f.length)) + 2);
  return [
    `reid-studio ${name}: ${h.summary}`,
    '',
    `usage: reid-studio ${h.usage}`,
    ...(h.flags.length ? ['', 'options:', ...h.flags.map(([f, d]) => `  ${f.padEnd(width)}${f.length >= width ? '\n  ' + ' '.repeat(width) : ''}${d}`)] : []),
    '',
    'example:',
    ...h.examples.map((e) => `  ${e}`),
    '',
    'exit codes: 0 done, 1 internal error, 2 bad input, 130 interrupted',
  ].join('\n');
}

/** Levenshtein distance (insertions, deletions, substitutions), for the nearest flag of a mistyped one. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The one-line error for a flag `command` does not take (Node's parseArgs ERR_PARSE_ARGS_UNKNOWN_OPTION, whose
 * own text adds a hint about positionals with an unbalanced quote): the flag, the command's nearest flag from
 * its help table when one is within two edits (or one contains the other), and where the flags are listed.
 */
export function unknownFlagMessage(command: string, flag: string): string {
  const known = [...new Set((HELP[command]?.flags ?? []).flatMap(([f]) => f.match(/--[a-z0-9-]+/g) ?? []))];
  const bare = flag.replace(/=.*$/, '');
  const near = known
    .map((f) => ({ f, d: f.includes(bare) || bare.includes(f) ? 1 : editDistance(bare, f) }))
    .filter((c) => c.d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  return `Unknown option '${bare}'${near ? `; did you mean ${near.f}?` : ''} (see "reid-studio ${command} --help" for its flags)`;
}
