// Node glue for the WebGPU backend: a GPUDevice from Dawn (the optional npm package `webgpu`).
import { existsSync, readdirSync } from 'node:fs';
import type { Backend } from '../backend.js';
import type { BackendEntry } from '../../node/backends.js';
import { isSoftwareAdapter, requestDevice } from './index.js';
import { describeAdapter, WebGpuBackend } from './webgpu-backend.js';

/** Where Debian's chromium package puts SwiftShader's Vulkan driver (a software GPU). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const NO_ADAPTER_HINT = `on a machine without a GPU, Chromium's software Vulkan gives one: install Debian's chromium and libvulkan1 and set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;

interface Found { adapter: GPUAdapter; name: string; software: boolean }

/** Dawn's instance: it must stay referenced while its devices are in use (collecting it ends them). */
let dawnGpu: GPU | null = null;

let found: Promise<Found | string> | null = null;

/** The adapter Dawn offers here (once per process), or why there is none. */
function findAdapter(): Promise<Found | string> {
  found ??= (async () => {
    if (process.env.YORICK_WEBGPU === '0') return 'disabled by YORICK_WEBGPU=0';
    let dawn: { create(options: string[]): GPU };
    try {
      dawn = await import('webgpu') as unknown as { create(options: string[]): GPU };
    } catch (e) {
      return `the npm package webgpu (Dawn) did not load: ${(e as Error).message.split('\n')[0]}`;
    }
    const gpu = (dawnGpu = dawn.create([]));
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return `Dawn found no adapter (${NO_ADAPTER_HINT})`;
    const isFallback = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
    const software = isSoftwareAdapter(adapter.info, isFallback);
    return { adapter, name: describeAdapter(adapter.info) + (software ? ' [software adapter]' : ''), software };
  })();
  return found;
}

/**
 * The WebGPU backend on Dawn's adapter (software adapters included), or why there is none.
 * Each call makes its own device (an adapter gives one device, so each asks for a new adapter).
 */
export async function loadWebGpuBackend(): Promise<{ backend: WebGpuBackend; software: boolean } | string> {
  const f = await findAdapter();
  if (typeof f === 'string') return f;
  try {
    const adapter = (await dawnGpu!.requestAdapter({ powerPreference: 'high-performance' })) ?? f.adapter;
    return { backend: new WebGpuBackend(await requestDevice(adapter), { adapter: f.name }), software: f.software };
  } catch (e) {
    return `${f.name}: requestDevice failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

/**
 * Whether this machine may have a GPU at all. On Linux a GPU shows as a device node
 * (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg under WSL); without one, `auto` does not start
 * Dawn (whose Vulkan probing prints warnings on machines with no Vulkan).
 */
function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/dxg') || existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

let loaded: Promise<Backend | null> | null = null;

/**
 * `--device=webgpu`: WGSL kernels on the adapter Dawn finds, software or not. `auto` takes it
 * only on a hardware GPU: a software adapter (SwiftShader, llvmpipe) is far slower than the
 * CPU backends, so there auto moves on to native / wasm.
 */
export const webgpuEntry: BackendEntry & { adapter?: string } = {
  name: 'webgpu',
  describe: 'WGSL kernels on a GPU through WebGPU (Dawn, the npm package webgpu)',
  load() {
    loaded ??= (async () => {
      const r = await loadWebGpuBackend();
      if (typeof r === 'string') {
        webgpuEntry.why = r;
        return null;
      }
      webgpuEntry.adapter = r.backend.adapter;
      return r.backend;
    })();
    return loaded;
  },
  async loadForAuto() {
    if (process.env.YORICK_WEBGPU !== '1' && !mayHaveGpu()) {
      webgpuEntry.autoWhy = 'no GPU device node here (/dev/dri, /dev/nvidia*, /dev/dxg)';
      return null;
    }
    const f = await findAdapter();
    if (typeof f === 'string') {
      webgpuEntry.autoWhy = f;
      return null;
    }
    if (f.software) {
      webgpuEntry.autoWhy = `the adapter is a software one (${f.name}); --device=webgpu uses it anyway`;
      return null;
    }
    return webgpuEntry.load();
  },
};
