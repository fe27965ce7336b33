/**
 * Built-in demo dataset: a deterministic generator of a small synthetic person re-ID dataset in
 * Market-1501 layout. People are drawn procedurally (clothing colours and patterns for
 * the upper and lower body, bags, hats, proportions, hair and skin) and seen by several cameras, each with
 * its own colour cast, brightness/contrast, blur, background and viewpoint jitter, so that the camera style
 * shift is real (what IBN-a is meant to absorb). Pixels are rendered into RGB buffers in JS and encoded as
 * JPEG with sharp; the same seed gives the same files.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createError, makeFoldersSync } from '../../io/files.js';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { Rng } from './rng.js';

export type DemoSize = 'tiny' | 'small' | 'medium';

interface SizeSpec {
  cameras: number;
  trainIds: number;
  testIds: number;
  /** Cameras each identity is seen by (min, max). */
  camsPerId: [number, number];
  /** Images per identity per camera (min, max); test identities get at least 2 (1 query + gallery). */
  imgsPerCam: [number, number];
  distractors: number;
  junk: number;
}

export const DEMO_SIZES: Record<DemoSize, SizeSpec> = {
  tiny: { cameras: 4, trainIds: 12, testIds: 12, camsPerId: [2, 3], imgsPerCam: [2, 3], distractors: 12, junk: 6 },
  small: { cameras: 6, trainIds: 60, testIds: 60, camsPerId: [2, 4], imgsPerCam: [2, 4], distractors: 60, junk: 30 },
  medium: { cameras: 6, trainIds: 200, testIds: 200, camsPerId: [2, 5], imgsPerCam: [2, 4], distractors: 250, junk: 120 },
};

export const DEMO_MARKER = 'reid-studio-demo.json';
const H = 128;
const W = 64;

type RGB = [number, number, number];

interface Person {
  skin: RGB;
  hair: RGB;
  hairLong: boolean;
  upper: RGB;
  upper2: RGB;
  upperPattern: 'solid' | 'hstripes' | 'vstripes' | 'checks' | 'logo';
  lower: RGB;
  lower2: RGB;
  lowerPattern: 'solid' | 'stripes';
  shorts: boolean;
  shoes: RGB;
  bag: 'none' | 'backpack' | 'handbag' | 'shoulder';
  bagColor: RGB;
  hat: RGB | null;
  height: number;
  width: number;
}

interface Camera {
  gain: RGB;
  brightness: number;
  contrast: number;
  blur: number;
  bg: RGB;
  bg2: RGB;
  bgStripe: number;
  scale: number;
  noise: number;
}

const PALETTE: RGB[] = [
  [200, 30, 30], [30, 60, 180], [30, 140, 50], [230, 200, 40], [240, 240, 240], [25, 25, 25], [120, 120, 120],
  [150, 80, 30], [240, 130, 30], [130, 40, 150], [240, 150, 180], [40, 170, 190], [90, 60, 40], [20, 40, 90],
  [170, 200, 90], [110, 20, 30],
];
const SKINS: RGB[] = [[240, 200, 170], [220, 170, 130], [180, 130, 90], [130, 85, 55], [90, 60, 40]];
const HAIRS: RGB[] = [[20, 15, 10], [70, 45, 25], [140, 100, 50], [210, 180, 120], [150, 150, 150], [120, 40, 20]];

function jitter(rng: Rng, c: RGB, amount: number): RGB {
  return c.map((v) => Math.max(0, Math.min(255, v + (rng.float() - 0.5) * 2 * amount))) as RGB;
}

function makePerson(rng: Rng): Person {
  const upper = jitter(rng, rng.pick(PALETTE), 25);
  const lower = jitter(rng, rng.pick(PALETTE), 25);
  return {
    skin: jitter(rng, rng.pick(SKINS), 10),
    hair: jitter(rng, rng.pick(HAIRS), 10),
    hairLong: rng.float() < 0.35,
    upper,
    upper2: jitter(rng, rng.pick(PALETTE), 25),
    upperPattern: rng.pick(['solid', 'solid', 'hstripes', 'vstripes', 'checks', 'logo'] as const),
    lower,
    lower2: jitter(rng, rng.pick(PALETTE), 25),
    lowerPattern: rng.float() < 0.2 ? 'stripes' : 'solid',
    shorts: rng.float() < 0.25,
    shoes: jitter(rng, rng.pick([[20, 20, 20], [240, 240, 240], [90, 60, 40], [30, 60, 180]] as RGB[]), 15),
    bag: rng.pick(['none', 'none', 'backpack', 'handbag', 'shoulder'] as const),
    bagColor: jitter(rng, rng.pick(PALETTE), 20),
    hat: rng.float() < 0.15 ? jitter(rng, rng.pick(PALETTE), 20) : null,
    height: 0.78 + rng.float() * 0.17,
    width: 0.85 + rng.float() * 0.35,
  };
}

function makeCamera(rng: Rng): Camera {
  return {
    gain: [0.7 + rng.float() * 0.6, 0.7 + rng.float() * 0.6, 0.7 + rng.float() * 0.6],
    brightness: (rng.float() - 0.5) * 70,
    contrast: 0.65 + rng.float() * 0.6,
    blur: rng.float() < 0.4 ? 0 : 0.4 + rng.float() * 1.2,
    bg: jitter(rng, [120, 120, 115], 60),
    bg2: jitter(rng, [90, 95, 90], 60),
    bgStripe: 6 + rng.int(18),
    scale: 0.85 + rng.float() * 0.2,
    noise: 3 + rng.float() * 10,
  };
}

/** Renders one view of a person through a camera into an RGB buffer. */
function render(p: Person, cam: Camera, rng: Rng, junk = false): Uint8Array {
  const img = new Float32Array(W * H * 3);
  // Background: the camera's scene (two-tone ground with stripes, e.g. pavement), with a slight shift per image.
  const phase = rng.int(cam.bgStripe);
  const horizon = Math.floor(H * (0.35 + rng.float() * 0.2));
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const ground = y > horizon;
      const stripe = ground && ((y + phase) % cam.bgStripe) < 2;
      const c = ground ? cam.bg2 : cam.bg;
      const o = (y * W + x) * 3;
      for (let k = 0; k < 3; k++) img[o + k] = c[k]! * (stripe ? 0.8 : 1) + (ground ? 0 : (y / H) * 20);
    }
  // Viewpoint: scale and shift jitter per camera and image; view 0 front, 1 back, 2 side.
  const view = rng.int(3);
  const s = cam.scale * p.height * (0.93 + rng.float() * 0.1);
  const ph = H * s;
  const top = (H - ph) * (0.3 + rng.float() * 0.7) + (junk ? H * 0.45 : 0);
  const cx = W / 2 + (rng.float() - 0.5) * W * 0.18 + (junk ? (rng.float() - 0.5) * W : 0);
  const bw = W * 0.36 * p.width * (view === 2 ? 0.7 : 1) * cam.scale;
  const Y = (f: number): number => top + f * ph;
  const set = (x: number, y: number, c: RGB): void => {
    const xi = Math.round(x), yi = Math.round(y);
    if (xi < 0 || xi >= W || yi < 0 || yi >= H) return;
    const o = (yi * W + xi) * 3;
    img[o] = c[0];
    img[o + 1] = c[1];
    img[o + 2] = c[2];
  };
  const rect = (x0: number, x1: number, y0: number, y1: number, col: (x: number, y: number) => RGB): void => {
    for (let y = Math.floor(y0); y < Math.ceil(y1); y++) for (let x = Math.floor(x0); x < Math.ceil(x1); x++) set(x, y, col(x - x0, y - y0));
  };
  const ellipse = (ex: number, ey: number, rx: number, ry: number, c: RGB): void => {
    for (let y = Math.floor(ey - ry); y <= Math.ceil(ey + ry); y++)
      for (let x = Math.floor(ex - rx); x <= Math.ceil(ex + rx); x++) if (((x - ex) / rx) ** 2 + ((y - ey) / ry) ** 2 <= 1) set(x, y, c);
  };
  const stride = (rng.float() - 0.5) * bw * 0.5;
  // Backpack behind the torso (seen from the back or side).
  if (p.bag === 'backpack' && view !== 0) rect(cx - bw * 0.45 + (view === 2 ? bw * 0.5 : 0), cx + bw * 0.45 + (view === 2 ? bw * 0.5 : 0), Y(0.17), Y(0.45), () => p.bagColor);
  // Legs / trousers.
  const legW = bw * 0.42;
  for (const side of [-1, 1]) {
    const lx = cx + side * bw * 0.24 + (side === 1 ? stride : -stride) * 0.5;
    rect(lx - legW / 2, lx + legW / 2, Y(0.5), Y(0.94), (x, y) => {
      if (p.shorts && y > ph * 0.17) return p.skin;
      if (p.lowerPattern === 'stripes' && Math.floor(x / 2) % 2 === 0) return p.lower2;
      return p.lower;
    });
    rect(lx - legW / 2 - 1, lx + legW / 2 + 1, Y(0.94), Y(1.0), () => p.shoes);
  }
  // Torso with the upper-body pattern.
  rect(cx - bw / 2, cx + bw / 2, Y(0.15), Y(0.52), (x, y) => {
    switch (p.upperPattern) {
      case 'hstripes':
        return Math.floor(y / 4) % 2 ? p.upper2 : p.upper;
      case 'vstripes':
        return Math.floor(x / 3) % 2 ? p.upper2 : p.upper;
      case 'checks':
        return (Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? p.upper2 : p.upper;
      case 'logo':
        return view === 0 && Math.abs(x - bw / 2) < bw * 0.2 && y > ph * 0.06 && y < ph * 0.16 ? p.upper2 : p.upper;
      default:
        return p.upper;
    }
  });
  // Arms.
  for (const side of view === 2 ? [1] : [-1, 1]) {
    const ax = cx + side * (bw / 2 + bw * 0.1) + (view === 2 ? -bw * 0.4 - stride * 0.4 : 0);
    rect(ax - bw * 0.1, ax + bw * 0.1, Y(0.16), Y(0.45), () => p.upper);
    rect(ax - bw * 0.09, ax + bw * 0.09, Y(0.45), Y(0.52), () => p.skin);
  }
  // Bags in front / at the side.
  if (p.bag === 'handbag') rect(cx + bw * 0.55, cx + bw * 0.85, Y(0.46), Y(0.6), () => p.bagColor);
  if (p.bag === 'shoulder') {
    for (let t = 0; t < 1; t += 0.02) set(cx - bw / 2 + t * bw, Y(0.16) + t * ph * 0.3, p.bagColor);
    rect(cx + bw * 0.3, cx + bw * 0.7, Y(0.42), Y(0.55), () => p.bagColor);
  }
  if (p.bag === 'backpack' && view === 0) {
    rect(cx - bw * 0.35, cx - bw * 0.25, Y(0.15), Y(0.35), () => p.bagColor);
    rect(cx + bw * 0.25, cx + bw * 0.35, Y(0.15), Y(0.35), () => p.bagColor);
  }
  // Head, hair, hat.
  const hr = bw * 0.3;
  const hy = Y(0.08);
  ellipse(cx, hy, hr, ph * 0.07, view === 1 ? p.hair : p.skin);
  ellipse(cx, hy - ph * 0.035, hr * 1.05, ph * 0.04, p.hair);
  if (p.hairLong) rect(cx - hr, cx + hr, hy, Y(0.2), (x) => (view === 0 && Math.abs(x - hr) < hr * 0.6 ? p.upper : p.hair));
  if (p.hat) ellipse(cx, hy - ph * 0.05, hr * 1.15, ph * 0.035, p.hat);

  // Camera response: colour cast, contrast and brightness, sensor noise.
  const out = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++)
    for (let k = 0; k < 3; k++) {
      const v = (img[i * 3 + k]! * cam.gain[k]! - 128) * cam.contrast + 128 + cam.brightness + rng.normal() * cam.noise;
      out[i * 3 + k] = Math.max(0, Math.min(255, Math.round(v)));
    }
  return out;
}

async function writeJpeg(path: string, rgb: Uint8Array, blur: number): Promise<void> {
  let img = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.length), { raw: { width: W, height: H, channels: 3 } });
  if (blur >= 0.3) img = img.blur(blur);
  await img.jpeg({ quality: 90 }).toFile(path);
}

export interface DemoSummary {
  generator: 'reid-studio-demo';
  version: 1;
  size: DemoSize;
  seed: number;
  cameras: number;
  splits: Record<'train' | 'query' | 'gallery', { identities: number; images: number }>;
  distractors: number;
  junk: number;
}

/** The top-level entries of a demo dataset (Market-1501 layout + marker). */
const DEMO_ENTRIES = ['bounding_box_train', 'bounding_box_test', 'query', DEMO_MARKER];

/** True if `dir` holds a dataset written by this generator (safe to overwrite). */
export function isDemoDataset(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, DEMO_MARKER), 'utf8')) as { generator?: string };
    return m.generator === 'reid-studio-demo';
  } catch {
    return false;
  }
}

/**
 * Writes the dataset to `outDir` (Market-1501 layout + a marker file). It is generated in a sibling
 * temporary folder and renamed into place, so a crash never leaves a half-written dataset behind. Refuses
 * a non-empty folder that is not a previous demo dataset.
 */
export async function writeDemoDataset(outDir: string, size: DemoSize = 'small', seed = 0): Promise<DemoSummary> {
  const spec = DEMO_SIZES[size];
  if (!spec) throw new Error(`unknown demo size "${size}" (tiny, small, medium)`);
  const dir = resolve(outDir);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a folder: choose an empty or new folder for the demo dataset`);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !isDemoDataset(dir))
    throw new Error(`${dir} is not empty and is not a demo dataset written by reid-studio; choose an empty or new folder`);
  // A demo dataset is replaced as a whole: only when it holds nothing but what the generator wrote.
  const foreign = existsSync(dir) ? readdirSync(dir).filter((n) => !DEMO_ENTRIES.includes(n)) : [];
  if (foreign.length) throw new Error(`${dir} holds files the demo generator did not write (${foreign.slice(0, 3).join(', ')}); move them or choose an empty or new folder`);
  makeFoldersSync(dirname(dir));
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(tmp);
  } catch (e) {
    // One line naming the folder asked for, not the errno text with the temporary name (/proc/self/.x.tmp-…).
    throw new Error(`cannot write the demo dataset: ${createError(e, dir).message}`);
  }
  try {
    const summary = await generate(tmp, spec, size, seed);
    writeFileSync(join(tmp, DEMO_MARKER), JSON.stringify(summary, null, 2) + '\n');
    if (existsSync(dir)) {
      const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${Date.now()}`);
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, dir);
    return summary;
  } catch (e) {
    // Image writes still in flight can refill the folder while it is removed (ENOTEMPTY): retry, and never
    // let the cleanup's error hide the cause.
    try {
      rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    } catch {
      /* the cause below matters more */
    }
    const err = e as NodeJS.ErrnoException;
    // libvips' messages span lines ("…: No space left on device\nvips2jpeg: …"): one line, with the cause.
    if (err.code === 'ENOSPC' || /no space left on device/i.test(err.message ?? '')) throw new Error(`cannot write the demo dataset to ${dir}: the disk is full (ENOSPC)`);
    if (err instanceof Error && /\n/.test(err.message)) throw new Error(`cannot write the demo dataset to ${dir}: ${err.message.split('\n')[0]}`);
    throw e;
  }
}

async function generate(root: string, spec: SizeSpec, size: DemoSize, seed: number): Promise<DemoSummary> {
  const rng = new Rng(seed);
  const cams = Array.from({ length: spec.cameras }, () => makeCamera(rng));
  // Market-style sparse 4-digit pids (1..1500), train and test disjoint.
  const pool = rng.shuffle(Array.from({ length: 1500 }, (_, i) => i + 1));
  const trainPids = pool.slice(0, spec.trainIds).sort((a, b) => a - b);
  const testPids = pool.slice(spec.trainIds, spec.trainIds + spec.testIds).sort((a, b) => a - b);
  const dirs = { train: join(root, 'bounding_box_train'), query: join(root, 'query'), gallery: join(root, 'bounding_box_test') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  const counts = { train: { ids: new Set<number>(), images: 0 }, query: { ids: new Set<number>(), images: 0 }, gallery: { ids: new Set<number>(), images: 0 } };
  const frameCounter = new Map<string, number>();
  const name = (pid: number, cam: number): string => {
    const seq = 1 + rng.int(6);
    const key = `${pid}_${cam}`;
    const n = (frameCounter.get(key) ?? 0) + 1;
    frameCounter.set(key, n);
    const frame = String(rng.int(999999)).padStart(6, '0');
    const pidStr = pid < 0 ? '-1' : String(pid).padStart(4, '0');
    return `${pidStr}_c${cam + 1}s${seq}_${frame}_${String(n).padStart(2, '0')}.jpg`;
  };
  const jobs: (() => Promise<void>)[] = [];
  const emit = (split: keyof typeof dirs, pid: number, cam: number, rgb: Uint8Array): void => {
    const file = join(dirs[split], name(pid, cam));
    const blur = cams[cam]!.blur;
    jobs.push(() => writeJpeg(file, rgb, blur));
    if (pid > 0) counts[split].ids.add(pid);
    counts[split].images++;
  };
  const camSubset = (): number[] => rng.shuffle(Array.from({ length: spec.cameras }, (_, i) => i)).slice(0, rng.randint(spec.camsPerId[0], Math.min(spec.camsPerId[1], spec.cameras)));
  for (const pid of trainPids) {
    const person = makePerson(rng);
    for (const c of camSubset()) {
      const n = rng.randint(spec.imgsPerCam[0] - 1, spec.imgsPerCam[1]);
      for (let k = 0; k < Math.max(1, n); k++) emit('train', pid, c, render(person, cams[c]!, rng));
    }
  }
  for (const pid of testPids) {
    const person = makePerson(rng);
    // ≥ 2 cameras and ≥ 2 images per camera: one query per camera, the rest in the gallery, so every
    // query has a cross-camera true match (Market protocol).
    for (const c of camSubset()) {
      const n = Math.max(2, rng.randint(spec.imgsPerCam[0], spec.imgsPerCam[1]));
      for (let k = 0; k < n; k++) emit(k === 0 ? 'query' : 'gallery', pid, c, render(person, cams[c]!, rng));
    }
  }
  for (let i = 0; i < spec.distractors; i++) {
    const c = rng.int(spec.cameras);
    emit('gallery', 0, c, render(makePerson(rng), cams[c]!, rng));
  }
  for (let i = 0; i < spec.junk; i++) {
    const c = rng.int(spec.cameras);
    emit('gallery', -1, c, render(makePerson(rng), cams[c]!, rng, true));
  }
  // Encode with a little concurrency (libvips does the work off the JS thread).
  // The first failure (a full disk) stops every worker, and all of them finish before the caller cleans up.
  let next = 0;
  let failure: unknown = null;
  await Promise.allSettled(
    Array.from({ length: 4 }, async () => {
      while (failure === null && next < jobs.length) await jobs[next++]!().catch((e: unknown) => void (failure ??= e));
    }),
  );
  if (failure !== null) throw failure;
  const sum = (k: keyof typeof counts) => ({ identities: counts[k].ids.size, images: counts[k].images });
  return { generator: 'reid-studio-demo', version: 1, size, seed, cameras: spec.cameras, splits: { train: sum('train'), query: sum('query'), gallery: sum('gallery') }, distractors: spec.distractors, junk: spec.junk };
}
