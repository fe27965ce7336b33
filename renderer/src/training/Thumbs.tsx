import { useEffect, useState } from 'react';
import { api } from '../api/client.js';

/** Data URLs of dataset images (from the service, which only serves images of datasets it listed). */
export function useThumbnails(paths: string[]): Map<string, string | null> {
  const [map, setMap] = useState<Map<string, string | null>>(new Map());
  const key = paths.join('\n');
  useEffect(() => {
    if (!paths.length) return;
    let live = true;
    const chunks: string[][] = [];
    for (let i = 0; i < paths.length; i += 128) chunks.push(paths.slice(i, i + 128));
    void Promise.all(chunks.map((c) => api.call('dataset.thumbnails', { paths: c }))).then(
      (rs) => live && setMap(new Map(rs.flat().map((r) => [r.path, r.dataUrl]))),
      () => live && setMap(new Map(paths.map((p) => [p, null]))),
    );
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return map;
}

/**
 * Activation-map pictures of a run's images (`runs.actmaps`: the run's checkpoint on the evaluating engine),
 * with the engine and the map's size, or the call's error. Empty `paths`: nothing is asked. `opacity`: the
 * map's weight over the image (torchreid's 0.7 when not given).
 */
export function useActmaps(runId: string, paths: string[], checkpoint: 'last' | 'best' = 'last', opacity?: number): { images: Map<string, string | null>; info: { engine: string; featureMap: [number, number] } | null; error: string | null } {
  const [state, setState] = useState<{ images: Map<string, string | null>; info: { engine: string; featureMap: [number, number] } | null; error: string | null }>({ images: new Map(), info: null, error: null });
  const key = `${runId}\n${checkpoint}\n${opacity}\n${paths.join('\n')}`;
  useEffect(() => {
    if (!paths.length) return;
    let live = true;
    setState((s) => ({ ...s, error: null }));
    const chunks: string[][] = [];
    for (let i = 0; i < paths.length; i += 128) chunks.push(paths.slice(i, i + 128));
    void Promise.all(chunks.map((c) => api.call('runs.actmaps', { runId, paths: c, checkpoint, opacity }))).then(
      (rs) => live && setState({ images: new Map(rs.flatMap((r) => r.images.map((i) => [i.path, i.dataUrl] as const))), info: { engine: rs[0]!.engine, featureMap: rs[0]!.featureMap }, error: null }),
      (e: Error) => live && setState({ images: new Map(), info: null, error: e.message }),
    );
    return () => void (live = false);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return state;
}

export function Thumb({ src, caption, className = '', testId, pid }: { src: string | null | undefined; caption: string; className?: string; testId?: string; pid?: number }) {
  return (
    <figure className={`thumb ${className}`} data-testid={testId} data-pid={pid} title={pid !== undefined ? `identity ${pid}: ${caption}` : caption}>
      {src ? <img src={src} alt={caption} /> : <div className="thumb-missing">{src === null ? 'unreadable' : '…'}</div>}
      <figcaption>{caption}</figcaption>
    </figure>
  );
}
