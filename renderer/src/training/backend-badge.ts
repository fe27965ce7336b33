/**
 * The backend badge's text: the backend that trains, marked when tfjs-node-gpu found no GPU device and
 * silently computes on the CPU (the training process reports it in its start event and `backend.status`).
 */
export function backendBadge(s: { backend: string; device?: 'cpu' | 'gpu'; backendWarning?: string }): { text: string; title: string; warn: boolean } {
  if (s.backend === 'tensorflow-gpu' && s.device === 'cpu') return { text: `${s.backend} · on the CPU`, title: s.backendWarning ?? 'tfjs-node-gpu sees no GPU device: it computes on the CPU', warn: true };
  return { text: s.backend, title: `tfjs backend of the training process${s.device === 'gpu' ? ' (GPU)' : ''}`, warn: false };
}
