import { type AttentionDropout, dropoutThreshold, type Kernels } from '../backend.js';
import type { ProgramSpec } from './program.js';
import type { Bindable } from './stream.js';
import { flatGroups, rowGroups } from './wgsl/common.js';
import * as ew from './wgsl/elementwise.js';
import * as rd from './wgsl/reduce.js';
import { matmulProgram, TILE } from './wgsl/matmul.js';
import * as at from './wgsl/attention.js';

const MATMUL = [matmulProgram(false, false), matmulProgram(false, true), matmulProgram(true, false), matmulProgram(true, true)];

/**
 * The contract's kernels as WGSL dispatches (host side: argument checks, grids, params).
 * Storage, the queue and errors are the backend's (WebGpuBackend); this class only records.
 * A dispatch with nothing to do (n = 0) is skipped.
 */
export abstract class WebGpuKernels implements Kernels<GPUBuffer> {
  /** Records one dispatch of the program. */
  protected abstract run(spec: ProgramSpec, buffers: Bindable[], params: number[], groups: [number, number?]): void;
  /** A scratch buffer of n floats for one kernel call, and its release (after the dispatches that use it). */
  protected abstract scratch(n: number): GPUBuffer;
  protected abstract release(buf: GPUBuffer): void;
  /** Bound where the contract passes null (read-only and read-write stand-ins). */
  protected abstract readonly nullIn: GPUBuffer;
  protected abstract readonly nullOut: GPUBuffer;
  /** Floats a buffer holds (for checks of ids against a table). */
  protected abstract lengthOf(buf: GPUBuffer): number;

  private flat(spec: ProgramSpec, buffers: Bindable[], n: number, params: number[] = []): void {
    if (n > 0) this.run(spec, buffers, [n, ...params], flatGroups(n));
  }

  matmul(c: GPUBuffer, a: GPUBuffer, b: GPUBuffer, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    if (M === 0 || N === 0) return;
    if (K === 0) {
      if (!accumulate) this.fill(c, 0, M * N);
      return;
    }
    const groupsN = Math.ceil(N / TILE);
    if (groupsN > 65535) throw new Error(`matmul: N = ${N} needs ${groupsN} workgroups along x, more than the 65535 WebGPU allows`);
    this.run(MATMUL[(transA ? 2 : 0) + (transB ? 1 : 0)], [c, a, b], [M, N, K, accumulate ? 1 : 0], [groupsN, Math.min(Math.ceil(M / TILE), 65535)]);
  }

  addBroadcast(out: GPUBuffer, a: GPUBuffer, b: GPUBuffer, size: number, n: number): void {
    if (size > 0 && !(n > 0 && size % n === 0)) throw new Error(`addBroadcast: size ${size} is not a multiple of n ${n}`);
    this.flat(ew.addBroadcast, [out, a, b], size, [n]);
  }

  sumRowsInto(db: GPUBuffer, dy: GPUBuffer, rows: number, n: number): void {
    if (n > 0) this.run(rd.sumRowsInto, [db, dy], [rows, n], [Math.ceil(n / 64)]);
  }

  axpy(dst: GPUBuffer, src: GPUBuffer, scale: number, n: number): void {
    this.flat(ew.axpy, [dst, src], n, [scale]);
  }

  scale(out: GPUBuffer, x: GPUBuffer, scale: number, n: number): void {
    this.flat(ew.scale, [out, x], n, [scale]);
  }

  fill(out: GPUBuffer, value: number, n: number): void {
    this.flat(ew.fill, [out], n, [value]);
  }

  sumSquares(out: GPUBuffer, x: GPUBuffer, n: number, accumulate: boolean): void {
    // up to 1024 workgroups of at least 64 values per invocation, then one that adds their sums
    const chunk = Math.max(256 * 64, Math.ceil(n / 1024 / 256) * 256);
    const groups = Math.max(1, Math.ceil(n / chunk));
    const partial = this.scratch(groups);
    this.run(rd.sumSquaresPartial, [partial, x], [n, chunk], [groups]);
    this.run(rd.sumInto, [out, partial], [groups, accumulate ? 1 : 0, 1], [1]);
    this.release(partial);
  }

  gradClipScale(out: GPUBuffer, normSq: GPUBuffer, maxNorm: number): void {
    this.flat(ew.gradClipScale, [out, normSq], 1, [maxNorm]);
  }

  embedding(out: GPUBuffer, table: GPUBuffer, ids: Int32Array, N: number, C: number): void {
    this.checkIds('embedding', ids, N, this.lengthOf(table) / C);
    if (N > 0 && C > 0) this.flat(ew.embedding, [out, table, ids.subarray(0, N)], N * C, [C]);
  }

  embeddingBackward(dtable: GPUBuffer, dout: GPUBuffer, ids: Int32Array, N: number, C: number): void {
    this.checkIds('embeddingBackward', ids, N, this.lengthOf(dtable) / C);
    if (N === 0 || C === 0) return;
    const csr = groupPositions(ids.subarray(0, N));
    const U = (csr.length - N - 1) / 2;
    this.run(rd.embeddingBackward, [dtable, dout, csr], [U, C], [Math.ceil(C / 64), Math.min(U, 65535)]);
  }

  layerNorm(out: GPUBuffer, mean: GPUBuffer, rstd: GPUBuffer, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer | null, N: number, C: number, eps: number): void {
    if (N > 0) this.run(rd.layerNorm, [out, mean, rstd, x, w, b ?? this.nullIn], [N, C, eps, b ? 1 : 0], rowGroups(N));
  }

  layerNormBackward(dx: GPUBuffer, dw: GPUBuffer, db: GPUBuffer | null, dout: GPUBuffer, x: GPUBuffer, w: GPUBuffer, mean: GPUBuffer, rstd: GPUBuffer, N: number, C: number): void {
    if (N === 0 || C === 0) return;
    this.run(rd.layerNormBackwardInput, [dx, dout, x, w, mean, rstd], [N, C], rowGroups(N));
    this.run(rd.layerNormBackwardWeights, [dw, db ?? this.nullOut, dout, x, mean, rstd], [N, C, db ? 1 : 0], [Math.ceil(C / 64)]);
  }

  gelu(out: GPUBuffer, x: GPUBuffer, n: number, tanh: boolean): void {
    this.flat(ew.gelu, [out, x], n, [tanh ? 1 : 0]);
  }

  geluBackward(dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, n: number, tanh: boolean): void {
    this.flat(ew.geluBackward, [dx, dout, x], n, [tanh ? 1 : 0]);
  }

  attention(out: GPUBuffer, lse: GPUBuffer, qkv: GPUBuffer, drop: AttentionDropout<GPUBuffer> | null, B: number, T: number, C: number, H: number): void {
    checkHeads('attention', C, H);
    if (B * H * T === 0) return;
    this.run(at.flashAttention, [out, lse, qkv, maskOf(drop) ?? this.nullIn], flashParams(C, H, B, T, drop), flashGroups(T, C / H, B * H));
  }

  attentionBackward(dqkv: GPUBuffer, dout: GPUBuffer, out: GPUBuffer, qkv: GPUBuffer, lse: GPUBuffer, drop: AttentionDropout<GPUBuffer> | null,
    B: number, T: number, C: number, H: number): void {
    checkHeads('attentionBackward', C, H);
    const rows = B * H * T;
    if (rows === 0) return;
    const rowDot = this.scratch(rows);
    this.flat(at.attentionRowDot, [rowDot, dout, out], rows, [T, C, H]);
    const buffers = [dqkv, dout, qkv, lse, rowDot, maskOf(drop) ?? this.nullIn];
    const params = flashParams(C, H, B, T, drop);
    const groups = flashGroups(T, C / H, B * H);
    this.run(at.flashAttentionBackwardKeyValue, buffers, params, groups);
    this.run(at.flashAttentionBackwardQuery, buffers, params, groups);
    this.release(rowDot);
  }

  /** Only each row's log-sum-exp. */
  attentionSaved(B: number, H: number, T: number): number {
    return B * H * T;
  }

  attentionProbs(att: GPUBuffer, lse: GPUBuffer, qkv: GPUBuffer, B: number, T: number, C: number, H: number): void {
    checkHeads('attentionProbs', C, H);
    this.flat(at.attentionProbs, [att, lse, qkv], B * H * T * T, [T, C, H, 1 / Math.sqrt(C / H)]);
  }

  kvStore(k: GPUBuffer, v: GPUBuffer, qkv: GPUBuffer, B: number, Tn: number, C: number, T0: number, maxT: number): void {
    if (T0 + Tn > maxT) throw new Error(`kvStore: positions ${T0}..${T0 + Tn - 1} do not fit a cache of ${maxT}`);
    this.flat(ew.kvStore, [k, v, qkv], B * Tn * C, [Tn, C, T0, maxT]);
  }

  cachedAttention(out: GPUBuffer, qkv: GPUBuffer, k: GPUBuffer, v: GPUBuffer, B: number, Tn: number, C: number, H: number, T0: number, maxT: number): void {
    checkHeads('cachedAttention', C, H);
    const rows = B * H * Tn;
    if (rows === 0) return;
    const scores = this.scratch(rows * (T0 + Tn));
    this.run(at.cachedAttention, [out, scores, qkv, k, v], [B, Tn, C, H, T0, maxT, 1 / Math.sqrt(C / H)], rowGroups(rows));
    this.release(scores);
  }

  softmax(out: GPUBuffer, x: GPUBuffer, N: number, V: number, temperature: number): void {
    if (N > 0 && V > 0) this.run(rd.softmax, [out, x], [N, V, temperature], rowGroups(N));
  }

  softmaxBackward(dx: GPUBuffer, y: GPUBuffer, dy: GPUBuffer, N: number, V: number, temperature: number): void {
    if (N > 0 && V > 0) this.run(rd.softmaxBackward, [dx, y, dy], [N, V, temperature], rowGroups(N));
  }

  crossEntropy(loss: GPUBuffer, probs: GPUBuffer, logits: GPUBuffer, targets: Int32Array, N: number, V: number): void {
    const count = countTargets('crossEntropy', targets, N, V);
    const losses = this.scratch(Math.max(N, 1));
    const t = targets.subarray(0, N);
    if (N > 0) this.run(rd.crossEntropyRows, [losses, probs, logits, t], [N, V], rowGroups(N));
    this.run(rd.sumInto, [loss, losses], [N, 0, count > 0 ? 1 / count : NaN], [1]);
    this.release(losses);
  }

  crossEntropyBackward(dlogits: GPUBuffer, probs: GPUBuffer, targets: Int32Array, dloss: GPUBuffer, N: number, V: number): void {
    const count = countTargets('crossEntropyBackward', targets, N, V);
    if (count > 0) this.flat(ew.crossEntropyBackward, [dlogits, probs, targets.subarray(0, N), dloss], N * V, [V, count]);
  }

  mul(out: GPUBuffer, x: GPUBuffer, mask: GPUBuffer, n: number): void {
    this.flat(ew.mul, [out, x, mask], n);
  }

  mulBackward(dx: GPUBuffer, dout: GPUBuffer, mask: GPUBuffer, n: number): void {
    this.flat(ew.mulBackward, [dx, dout, mask], n);
  }

  dropoutMask(mask: GPUBuffer, n: number, p: number, key0: number, key1: number): void {
    const { threshold, keep } = dropoutThreshold(p);
    if (n > 2 ** 32) throw new Error(`dropoutMask: ${n} elements, more than the stream's 2^32`);
    this.flat(ew.dropoutMask, [mask], n, [threshold, keep, key0 >>> 0, key1 >>> 0]);
  }

  selectPosition(out: GPUBuffer, x: GPUBuffer, B: number, T: number, C: number, t: number): void {
    this.flat(ew.selectPosition, [out, x], B * C, [T, C, t]);
  }

  selectPositionBackward(dx: GPUBuffer, dout: GPUBuffer, B: number, T: number, C: number, t: number): void {
    this.flat(ew.selectPositionBackward, [dx, dout], B * C, [T, C, t]);
  }

  adamw(p: GPUBuffer, g: GPUBuffer, m: GPUBuffer, v: GPUBuffer, n: number, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, t: number, gradScale: GPUBuffer | null): void {
    const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
    this.flat(ew.adamw, [p, m, v, g, gradScale ?? this.nullIn], n, [lr, beta1, beta2, eps, 1 - lr * weightDecay, bc1, bc2, gradScale ? 1 : 0]);
  }

  private checkIds(kernel: string, ids: Int32Array, N: number, rows: number): void {
    if (ids.length < N) throw new Error(`${kernel}: ${ids.length} ids given, N is ${N}`);
    for (let i = 0; i < N; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < rows)) throw new Error(`${kernel}: id ${id} at position ${i} is outside the table's ${rows} rows`);
    }
  }
}

function checkHeads(kernel: string, C: number, H: number): void {
  if (!(H > 0 && C % H === 0)) throw new Error(`${kernel}: C (${C}) must be divisible by H (${H})`);
}

/** Targets that count toward the mean (not -1), after checking each is -1 or a class < V. */
function countTargets(kernel: string, targets: Int32Array, N: number, V: number): number {
  if (targets.length < N) throw new Error(`${kernel}: ${targets.length} targets given, N is ${N}`);
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === -1) continue;
    if (!(t >= 0 && t < V)) throw new Error(`${kernel}: target ${t} at position ${i} is not -1 or a class below ${V}`);
    count++;
  }
  return count;
}

/**
 * Positions grouped by id, for the atomics-free embedding gradient:
 * [unique ids (U), start of each id's positions (U + 1), positions in ascending order (N)].
 */
export function groupPositions(ids: Int32Array): Int32Array {
  const N = ids.length;
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => ids[a] - ids[b] || a - b);
  const unique: number[] = [];
  const starts: number[] = [];
  for (let k = 0; k < N; k++) {
    if (k === 0 || ids[order[k]] !== ids[order[k - 1]]) {
      unique.push(ids[order[k]]);
      starts.push(k);
    }
  }
  starts.push(N);
  const out = new Int32Array(unique.length * 2 + 1 + N);
  out.set(unique, 0);
  out.set(starts, unique.length);
  out.set(order, unique.length * 2 + 1);
  return out;
}

/** The mask buffer of a dropout that has one. */
function maskOf(drop: AttentionDropout<GPUBuffer> | null): GPUBuffer | null {
  return drop && 'mask' in drop ? drop.mask : null;
}

/** The flash kernels' params: B, T, C, H, the score scale, and the dropout (none, a mask, or the device stream's key). */
function flashParams(C: number, H: number, B: number, T: number, drop: AttentionDropout<GPUBuffer> | null): number[] {
  const head = [B, T, C, H, 1 / Math.sqrt(C / H)];
  if (!drop) return [...head, 0, 0, 0, 0, 0];
  if ('mask' in drop) return [...head, 1, 0, 0, 0, 0];
  if (B * H * T * T > 2 ** 32) throw new Error(`attention: a dropout stream of B*H*T*T = ${B * H * T * T} elements, more than its 2^32`);
  const { threshold, keep } = dropoutThreshold(drop.p);
  return [...head, 2, threshold, keep, drop.key0 >>> 0, drop.key1 >>> 0];
}

/**
 * Their grid: (blocks of 16 positions, each kernel's own block, x head slices; B * H folded into at
 * most 65535 rows).
 */
function flashGroups(T: number, hs: number, BH: number): [number, number] {
  const x = Math.ceil(T / 16) * at.headSlices(hs);
  if (x > 65535) throw new Error(`attention: T = ${T} with head size ${hs} needs ${x} workgroups along x, more than the 65535 WebGPU allows`);
  return [x, Math.min(BH, 65535)];
}
