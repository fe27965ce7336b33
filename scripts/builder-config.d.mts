/** electron-builder.yml as `npm run dist` passes it on, with the variants of its flags (builder-config.mjs). */
export function builderConfig(options?: { standIn?: boolean; unsigned?: boolean }, text?: string): Record<string, any>;
