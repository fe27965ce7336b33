/**
 * The backend badge's text: the engine that trains and, on webgpu, the adapter it runs on ("webgpu · NVIDIA
 * H100 (Vulkan)", "webgpu · SwiftShader (software)", the latter marked); marked too when tfjs-node-gpu found
 * no GPU device and silently computes on the CPU (the training process reports it in its start event and
 * `backend.status`).
 */
export function backendBadge(s: { backend: string; device?: 'cpu' | 'gpu'; adapter?: string; backendWarning?: string }): { text: string; title: string; warn: boolean } {
  if (s.backend === 'tensorflow-gpu' && s.device === 'cpu') return { text: `${s.backend} · on the CPU`, title: s.backendWarning ?? 'tfjs-node-gpu sees no GPU device: it computes on the CPU', warn: true };
  if (s.backend === 'webgpu') {
    const software = /\(software\)/.test(s.adapter ?? '');
    return { text: `webgpu · ${s.adapter ?? 'GPU'}`, title: software ? 'onnxruntime WebGPU on a software adapter (a CPU rasteriser): slow' : 'onnxruntime WebGPU engine on the GPU', warn: software };
  }
  return { text: s.backend, title: `tfjs backend of the training process${s.device === 'gpu' ? ' (GPU)' : ''}`, warn: false };
}
