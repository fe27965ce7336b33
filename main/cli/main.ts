import { CliError, fileErrorCliCode, Interrupted } from './errors.js';
import { WebGpuError } from '../onnx/webgpu-errors.js';
import { EXIT, exitAfterDrain, quietOnBrokenPipe } from './exit.js';
import { commandHelp, HELP, unknownFlagMessage } from './help.js';
import { appVersion } from '../io/app-version.js';
import { joinNegativeNumbers } from './numbers.js';
import { FileError } from '../io/files.js';
import { displayPath, rawArgv } from '../io/raw-names.js';

type Handler = (argv: string[]) => void | Promise<void>;

/**
 * Subcommands. Scripts depend on these names, flags and JSON fields: add freely, never rename. Every
 * handler imports its module when it runs (the bundle is split at these imports, scripts/build.mjs):
 * `--version` and `--help` load neither the engines (TensorFlow.js, onnxruntime, sharp) nor the service
 * (issue 22: they took 2 s and 125 MB; bench/cli.ts measures them).
 */
export const COMMANDS: Record<string, { help: string; run: Handler }> = {
  presets: {
    help: 'list the preset model names (ResNet / IBN-a / IBN-b, RSB SENet, then the fast-reid recipe presets)',
    run: async () => {
      const { ALL_PRESET_NAMES, FR_PRESET_NAMES } = await import('../../core/index.js');
      process.stdout.write([...ALL_PRESET_NAMES, ...FR_PRESET_NAMES].join('\n') + '\n');
    },
  },
  summary: {
    help: 'summary [GRAPH.json] [--preset NAME] [--neck bnneck|no] [--neck-feat after|before] [--last-stride 1|2] [--num-classes N] [--input HxW] [--freeze-backbone] [--expand] [--json]',
    run: async (argv) => (await import('./summary.js')).summaryCommand(argv),
  },
  'demo-data': { help: 'demo-data --out DIR [--size tiny|small|medium] [--seed N] [--json]  (synthetic Market-1501-layout dataset)', run: async (argv) => (await import('./demo-data.js')).demoDataCommand(argv) },
  serve: { help: 'serve [--port N] [--no-open] [--data-dir DIR]  start browser mode; prints "ReID Studio: URL"', run: async (argv) => (await import('./serve.js')).serveCommand(argv) },
  start: { help: 'start [--browser | --electron] [--port N] [--no-open]  open the app (Electron if installed, else browser mode)', run: async (argv) => (await import('./start.js')).startCommand(argv) },
  train: {
    help: 'train [GRAPH.json | --preset NAME …] (--demo | --data DIR) [--epochs N] [--batch P,K] [--input HxW] [--weights FILE] [--out RUN_DIR] [--backend NAME] [--micro-batch N] [--lr X] [--warmup-epochs N] [--eval-period N] [--seed N] [--json] | train --resume RUN_DIR',
    run: async (argv) => (await import('./train.js')).trainCommand(argv),
  },
  eval: {
    help: 'eval [RUN_DIR | GRAPH.json | --preset NAME …] [--weights FILE] (--demo | --data DIR) [--rerank] [--metric cosine|euclidean] [--json]',
    run: async (argv) => (await import('./eval.js')).evalCommand(argv),
  },
  embed: { help: 'embed [GRAPH.json | --preset NAME …preset options] --weights FILE --images DIR --out FEATS.json [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] [--batch-size N]  eval-mode features of every image in DIR', run: async (argv) => (await import('./embed.js')).embedCommand(argv) },
  actmap: {
    help: 'actmap [GRAPH.json | --preset NAME …] --weights FILE|RUN_DIR --images DIR --out DIR [--backend NAME] [--batch-size N] [--allow-partial] [--json]  torchreid activation maps of every image in DIR as overlaid PNGs',
    run: async (argv) => (await import('./actmap.js')).actmapCommand(argv),
  },
  backend: { help: 'backend [--backend NAME] [--json]  the TensorFlow.js backend in use, why faster ones were skipped, and the GPU (CUDA / cuDNN) check', run: async (argv) => (await import('./backend.js')).backendCommand(argv) },
  weights: { help: 'weights FILE [GRAPH.json | --preset NAME …preset options] [--keep-classifier] [--json]  list a checkpoint\'s tensors, or its load report for a graph', run: async (argv) => (await import('./weights.js')).weightsCommand(argv) },
  export: { help: 'export [GRAPH.json | --preset NAME …] --format graph|rsb-yaml|fastreid-yaml|pytorch|tfjs --out PATH [--weights FILE.pth|RUN_DIR] [--layout rsb|fastreid] [--fastreid-stem] [--json]', run: async (argv) => (await import('./export.js')).exportCommand(argv) },
  runs: { help: 'runs import DIR [--name NAME] [--data DATASET_DIR] [--data-dir DIR] [--json]  (a fast-reid / reid-strong-baseline output folder → a run; --json: runId, runDir, framework, …)', run: async (argv) => (await import('./runs.js')).runsCommand(argv) },
  import: { help: 'import CONFIG.yml --out GRAPH.json [--json]  (reid-strong-baseline / fast-reid YAML → graph + training settings)', run: async (argv) => (await import('./import.js')).importCommand(argv) },
};

export function usage(): string {
  return [
    'usage: reid-studio <command> [options]',
    '       reid-studio <command> --help     flags and an example for one command',
    '       reid-studio --version',
    '',
    'commands:',
    ...Object.keys(COMMANDS).flatMap((k) => [`  ${k.padEnd(10)} ${HELP[k]?.summary ?? COMMANDS[k]!.help}`, `  ${''.padEnd(10)} ${HELP[k]?.usage ?? ''}`]),
    '',
    'exit codes: 0 done, 1 internal error, 2 bad input, 130 interrupted',
  ].join('\n');
}

/**
 * Runs one command; returns its exit code (never throws): 0 done, 1 internal error (a bug of ours), 2 a
 * user error (one line on stderr), 130 interrupted.
 */
export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic && COMMANDS[topic]) process.stdout.write(commandHelp(topic) + '\n');
    else process.stdout.write(usage() + '\n');
    return EXIT.ok;
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') {
    process.stdout.write(`reid-studio ${appVersion()}\n`);
    return EXIT.ok;
  }
  const c = COMMANDS[cmd];
  if (c && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(commandHelp(cmd) + '\n');
    return EXIT.ok;
  }
  try {
    if (!c) throw new CliError(`unknown command "${cmd}"; run "reid-studio --help"`);
    await c.run(joinNegativeNumbers(rest));
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof Interrupted) {
      process.stderr.write(`reid-studio: ${err.message}\n`);
      return EXIT.interrupted;
    }
    // parseArgs reports unknown / malformed flags with ERR_PARSE_ARGS_* codes: those are user errors too.
    if (e instanceof CliError || err.code?.startsWith('ERR_PARSE_ARGS')) {
      // Node's own messages can span lines ("… is ambiguous.\nDid you forget …"): one line, as every error.
      let message = e instanceof CliError ? err.message : err.message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
      // An unknown flag: our own line (Node's adds a positional hint with an unbalanced quote), with the nearest flag.
      const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /^Unknown option '(.+?)'(?:\. |$)/.exec(message) : null;
      if (unknown) {
        process.stderr.write(`reid-studio: error: ${displayPath(unknownFlagMessage(cmd, unknown[1]!))}\n`);
        return EXIT.user;
      }
      // `--backend` with no value: say what the values are (every command's --backend takes the same ones).
      // The engine list is loaded only here: it pulls the engines, which `--version` / `--help` never load.
      if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && message.includes("'--backend <value>'")) message += ` (choose one of ${(await import('../onnx/engine.js')).ENGINE_CHOICES.join(', ')})`;
      process.stderr.write(`reid-studio: error: ${displayPath(message)}${e instanceof CliError ? '' : ` (see "reid-studio ${cmd} --help")`}\n`);
      return e instanceof CliError ? e.exitCode : EXIT.user;
    }
    // A file the command cannot read or write (a device as --out, a full disk, no permission): the user's situation.
    if (e instanceof FileError) {
      process.stderr.write(`reid-studio: error: ${displayPath(err.message)} (${fileErrorCliCode(e.code)})\n`);
      return EXIT.user;
    }
    // A failing WebGPU session or a lost GPU device: one line with its code (main/onnx/webgpu-errors.ts).
    if (e instanceof WebGpuError) {
      process.stderr.write(`reid-studio: error: ${err.message} (${e.code})\n`);
      return EXIT.user;
    }
    process.stderr.write(`reid-studio: internal error: ${displayPath(err.message)}\n`);
    if (process.env.REID_STUDIO_DEBUG) process.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}

/** The process entry: run, then exit only once stdout / stderr have drained (pipes never cut). */
export async function main(argv: string[]): Promise<never> {
  quietOnBrokenPipe();
  // File names that are not valid UTF-8 keep their bytes (Node's argv has U+FFFD there): main/io/raw-names.ts.
  return exitAfterDrain(await runCli(rawArgv(argv)));
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.REID_STUDIO_CLI_ENTRY) {
  void main(process.argv.slice(2));
}
