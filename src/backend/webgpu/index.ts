// The WebGPU backend (`yorick/webgpu`): in a browser, `await requestWebGpuBackend()` uses
// navigator.gpu; anywhere, `new WebGpuBackend(device)` wraps a GPUDevice you already have.
// Pass it as the `backend` of models and tensors, or setDefaultBackend(it).
import { DeviceError } from '../../errors.js';
import { describeAdapter, WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.js';

export { WebGpuBackend, describeAdapter, type WebGpuBackendOptions } from './webgpu-backend.js';
export { groupPositions } from './kernels.js';

/** Software adapters (CPU emulations of a GPU): correct, and slower than the CPU backends. */
export function isSoftwareAdapter(info: GPUAdapterInfo, isFallback = false): boolean {
  const words = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return isFallback || /swiftshader|llvmpipe|lavapipe|software|warp|microsoft basic render/.test(words);
}

/**
 * A device from the adapter, asking for the adapter's largest buffers (the attention
 * probabilities of a training batch are [B, H, T, T]).
 */
export async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const { limits } = adapter;
  return adapter.requestDevice({
    label: 'yorick',
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 8),
    },
  });
}

/** The adapter of gpu (default: navigator.gpu), or a DeviceError saying why there is none. */
export async function requestAdapter(gpu?: GPU, opts: GPURequestAdapterOptions = { powerPreference: 'high-performance' }): Promise<GPUAdapter> {
  const g = gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!g) throw new DeviceError('webgpu', 'webgpu: this environment has no navigator.gpu (WebGPU is not available)');
  const adapter = await g.requestAdapter(opts);
  if (!adapter) throw new DeviceError('webgpu', 'webgpu: no adapter found (requestAdapter returned null)');
  return adapter;
}

/** The backend on the first adapter of gpu (default: navigator.gpu). */
export async function requestWebGpuBackend(gpu?: GPU, opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const adapter = await requestAdapter(gpu);
  const device = await requestDevice(adapter);
  return new WebGpuBackend(device, { adapter: describeAdapter(adapter.info), ...opts });
}
