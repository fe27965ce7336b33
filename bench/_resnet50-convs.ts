/** resnet50's Conv layer shapes at 256×128 (last stride 1), for the conv micro-benchmarks (bench/_conv-dw.ts, bench/_conv-nchwc.ts). */
// [C_in, C_out, k, stride, pad, H, W, count in resnet50 (last stride 1)]
export const RESNET50_CONVS: [number, number, number, number, number, number, number, number][] = [
  [3, 64, 7, 2, 3, 256, 128, 1],
  [64, 64, 1, 1, 0, 64, 32, 1],
  [256, 64, 1, 1, 0, 64, 32, 2],
  [64, 64, 3, 1, 1, 64, 32, 3],
  [64, 256, 1, 1, 0, 64, 32, 4],
  [256, 128, 1, 1, 0, 64, 32, 1],
  [128, 128, 3, 2, 1, 64, 32, 1],
  [256, 512, 1, 2, 0, 64, 32, 1],
  [512, 128, 1, 1, 0, 32, 16, 3],
  [128, 128, 3, 1, 1, 32, 16, 3],
  [128, 512, 1, 1, 0, 32, 16, 4],
  [512, 256, 1, 1, 0, 32, 16, 1],
  [256, 256, 3, 2, 1, 32, 16, 1],
  [512, 1024, 1, 2, 0, 32, 16, 1],
  [1024, 256, 1, 1, 0, 16, 8, 5],
  [256, 256, 3, 1, 1, 16, 8, 5],
  [256, 1024, 1, 1, 0, 16, 8, 6],
  [1024, 512, 1, 1, 0, 16, 8, 1],
  [512, 512, 3, 1, 1, 16, 8, 3],
  [512, 2048, 1, 1, 0, 16, 8, 3],
  [1024, 2048, 1, 1, 0, 16, 8, 1],
  [2048, 512, 1, 1, 0, 16, 8, 2],
];

/** This process's CPU seconds (user + system) so far. */
export const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** RESNET50_CONVS with each layer's output size (Ho, Wo). */
export const resnet50Convs = () =>
  RESNET50_CONVS.map(([ci, co, k, s, p, h, w, count]) => ({ ci, co, k, s, p, h, w, count, ho: Math.floor((h + 2 * p - k) / s) + 1, wo: Math.floor((w + 2 * p - k) / s) + 1 }));
