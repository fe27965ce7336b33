/**
 * A feature that is not finite (NaN / ±Inf) would rank every gallery image arbitrarily and be written as a
 * silent wrong answer; the command stops instead, naming the image (issue #25). Typical causes: weights
 * whose activations overflow float32, or statistics outside their domain that slipped past the load report.
 */
export class NonFiniteFeaturesError extends Error {
  override name = 'NonFiniteFeaturesError';
  readonly code = 'E_NONFINITE_FEATURES';
}

/**
 * Checks `count` feature rows of `dim` floats (row-major [count, dim]); throws NonFiniteFeaturesError naming
 * the first image (`nameOf(row)`) whose feature holds NaN / ±Inf, with how many of its values are bad.
 */
export function assertFiniteFeatures(features: Float32Array, dim: number, count: number, nameOf: (row: number) => string, skip?: Set<number>): void {
  for (let i = 0; i < count; i++) {
    if (skip?.has(i)) continue;
    let bad = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) if (!Number.isFinite(features[j]!)) bad++;
    if (bad)
      throw new NonFiniteFeaturesError(
        `the feature of ${nameOf(i)} is not finite (${bad} NaN / Inf of ${dim} values): the model's activations overflow on it or its weights hold invalid values; nothing was written`,
      );
  }
}
