import type { ParamValue, Params } from './types.js';

/** A parameter's schema: drives validation, defaults and the inspector form. */
export type ParamSpec =
  | { type: 'int'; default: number; min?: number; max?: number; label?: string; help?: string }
  | { type: 'float'; default: number; min?: number; max?: number; label?: string; help?: string }
  | { type: 'bool'; default: boolean; label?: string; help?: string }
  | { type: 'enum'; default: string; options: readonly string[]; label?: string; help?: string };

export type ParamSchema = Record<string, ParamSpec>;

export function defaultParams(schema: ParamSchema): Params {
  const out: Params = {};
  for (const [k, spec] of Object.entries(schema)) out[k] = spec.default;
  return out;
}

/** Returns a problem description, or null when the value fits the spec. */
export function checkParam(key: string, spec: ParamSpec, value: unknown): string | null {
  switch (spec.type) {
    case 'int':
    case 'float': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${key} must be a number`;
      if (spec.type === 'int' && !Number.isInteger(value)) return `${key} must be a whole number`;
      if (spec.min !== undefined && value < spec.min) return `${key} must be at least ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `${key} must be at most ${spec.max}`;
      return null;
    }
    case 'bool':
      return typeof value === 'boolean' ? null : `${key} must be true or false`;
    case 'enum':
      return typeof value === 'string' && spec.options.includes(value)
        ? null
        : `${key} must be one of ${spec.options.join(', ')}`;
  }
}

/** Fills defaults for missing keys and drops unknown keys; reports invalid values. */
export function resolveParams(
  schema: ParamSchema,
  given: Record<string, unknown>,
): { params: Params; problems: string[] } {
  const params: Params = {};
  const problems: string[] = [];
  for (const [k, spec] of Object.entries(schema)) {
    const v = given[k];
    if (v === undefined) {
      params[k] = spec.default;
      continue;
    }
    const problem = checkParam(k, spec, v);
    if (problem) {
      problems.push(problem);
      params[k] = spec.default;
    } else params[k] = v as ParamValue;
  }
  for (const k of Object.keys(given)) if (!(k in schema)) problems.push(`unknown parameter ${k}`);
  return { params, problems };
}
