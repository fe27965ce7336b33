/**
 * Caps the checkpoint readers check before they allocate or loop. Every figure is far above what a real
 * re-ID checkpoint needs (a pickled ResNet-50 Baseline: ~3,000 pickle objects, 330 storages, 100 MB) and
 * far below what exhausts a desktop's memory, so a damaged or hostile file fails at once with a
 * CheckpointError instead of growing until V8 aborts.
 */
export const LIMITS = {
  /** Objects on the pickle machine's stack at once. */
  pickleStack: 1_000_000,
  /** Entries in the pickle memo. */
  pickleMemo: 1_000_000,
  /** Objects (containers, strings, numbers) one pickle may create in total. */
  pickleObjects: 20_000_000,
  /** Bytes of one pickled integer (LONG1 / LONG4); torch's largest is the 10-byte legacy magic number. */
  pickleIntBytes: 1024,
  /** Dimensions of one tensor. */
  tensorDims: 64,
  /** Elements of one tensor (Float32Array's practical limit). */
  tensorElements: 2 ** 31 - 1,
  /**
   * Elements a view may hold beyond its storage's (a stride-0 view such as `t.expand(…)` saved as is):
   * 16 M (64 MB as float32) per tensor, 64 M for the whole checkpoint.
   */
  expandedElements: 2 ** 24,
  expandedElementsTotal: 2 ** 26,
  /**
   * Float32 elements all of a checkpoint's tensors may take once read: each storage once (views of one
   * storage share it, as in PyTorch) plus each non-contiguous view's copy. 2^29 = 2 GiB, 20× a ResNet-50
   * Baseline with its optimizer state; checked before any storage is read.
   */
  materializedElements: 2 ** 29,
  /** Nesting of pickled modules (`_modules` inside `_modules`). */
  moduleDepth: 100,
  /** Modules plus tensors of one pickled module tree (a module shared by two parents counts twice). */
  moduleEntries: 1_000_000,
  /** Entries of a zip central directory. */
  zipEntries: 200_000,
  /** Bytes all deflated zip entries may inflate to, together. */
  zipInflatedTotal: 4 * 2 ** 30,
  /**
   * Deflate cannot compress better than ~1032:1 (zlib technical details: 258-byte matches coded in
   * 2 bits); a larger declared ratio is a lie (a zip bomb or damage).
   */
  deflateRatio: 1032,
  /** safetensors JSON header bytes (the safetensors crate's MAX_HEADER_SIZE). */
  safetensorsHeader: 100_000_000,
} as const;
