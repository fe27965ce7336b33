// Validates GitHub Actions workflow files with GitHub's own parser and schema (@actions/workflow-parser, from
// actions/languageservices; the schema is bundled, nothing is downloaded): structure, keys, and the
// expressions in their contexts (e.g. `secrets` is not available in a step's `if`). Prints one error a line.
//   npx tsx scripts/release/validate-workflow.ts [--json] FILE...   exit 1 when any file has an error
//     --json: one JSON object on stdout, each file's errors by its path
// (A script rather than an import in the test: the parser imports its schema JSON without an import
// attribute, which tsx accepts and Node's own loader, used by vitest for node_modules, refuses.)
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { isMain } from './common.js';

/** The schema and expression errors of one workflow text, deduplicated, in the parser's words. */
export async function workflowErrors(content: string, name = 'workflow.yml'): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => (e as { Message?: string }).Message ?? String(e)));
  }
  return [...new Set(errors)];
}

if (isMain(import.meta.url)) {
  const json = process.argv[2] === '--json';
  const files = process.argv.slice(json ? 3 : 2);
  if (!files.length) {
    console.error('usage: npx tsx scripts/release/validate-workflow.ts [--json] FILE...');
    process.exit(2);
  }
  const report: Record<string, string[]> = {};
  for (const f of files) report[f] = await workflowErrors(readFileSync(f, 'utf8'), basename(f));
  if (json) console.log(JSON.stringify(report));
  else for (const [f, errors] of Object.entries(report)) console.log(errors.length ? errors.join('\n') : `${f}: valid`);
  process.exit(Object.values(report).some((e) => e.length) ? 1 : 0);
}
