/**
 * Graph document file names, once for every layer: `.reidgraph` is the registered document type (the
 * installers' file association, electron-builder.yml) and the default for new files; `.json` documents
 * (older saves, `export --format graph`) open and save as well.
 */
export const DOC_EXTENSION = '.reidgraph';
export const DOC_EXTENSIONS = [DOC_EXTENSION, '.json'] as const;

/** Whether `path` names a graph document by its extension (case-insensitive). */
export function isDocumentPath(path: string): boolean {
  const p = path.toLowerCase();
  return DOC_EXTENSIONS.some((e) => p.endsWith(e));
}
