import { parseArgs } from 'node:util';
import { serializeDocument } from '../../core/index.js';
import { FRAMEWORK_LABEL, recognizeModel } from '../../core/config/index.js';
import { ConfigImportError, importConfigFile } from '../service/config-import.js';
import { writeFileAtomic } from '../io/files.js';
import { CliError } from './errors.js';

export async function importCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, json: { type: 'boolean' } } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new CliError('import takes one config file: import CONFIG.yml --out GRAPH.json');
  if (!values.out) throw new CliError('--out GRAPH.json is required');
  let result;
  try {
    result = importConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigImportError) throw new CliError(e.message);
    throw e;
  }
  try {
    await writeFileAtomic(values.out, serializeDocument(result.doc));
  } catch (e) {
    throw new CliError(`cannot write ${values.out}: ${(e as Error).message}`);
  }
  const rec = recognizeModel(result.doc);
  const model = rec.ok
    ? {
        depth: rec.spec.depth,
        ibn: rec.spec.ibn,
        stem: rec.spec.stem,
        lastStride: rec.spec.lastStride,
        neck: rec.spec.neck,
        neckFeat: rec.spec.neckFeat,
        trainFeat: rec.spec.trainFeat,
        pool: rec.spec.pool,
        numClasses: rec.spec.numClasses,
        input: rec.spec.input,
        frozenBackbone: rec.spec.frozenBackbone,
        nonLocal: !!rec.spec.nonLocal,
      }
    : null;
  if (values.json) {
    const out = { framework: result.framework, out: values.out, model, training: result.doc.training, ignored: result.ignored, warnings: result.warnings };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const m = model;
  const lines = [`imported a ${FRAMEWORK_LABEL[result.framework]} config → ${values.out}`];
  if (m)
    lines.push(
      `model: ${m.depth}${m.ibn ? '_ibn_a' : ''}, last stride ${m.lastStride}, neck ${m.neck}, ${m.numClasses} classes, input ${m.input.join('x')}${m.pool !== 'avg' ? `, ${m.pool} pooling` : ''}${m.frozenBackbone ? ', frozen backbone' : ''}`,
    );
  lines.push(result.ignored.length ? `ignored (not modelled by ReID Studio): ${result.ignored.join(', ')}` : 'ignored: none');
  for (const w of result.warnings) lines.push(`note: ${w}`);
  process.stdout.write(lines.join('\n') + '\n');
}
