// Kernels with one invocation per output element (no reductions, no races).
import { flatProgram, FMIX32 } from './common.js';

export const fill = flatProgram('fill', [['out', 'rw']], [['value', 'f32']], 'out[i] = P.value;');
export const scale = flatProgram('scale', [['out', 'rw'], ['x', 'r']], [['s', 'f32']], 'out[i] = P.s * x[i];');
export const axpy = flatProgram('axpy', [['dst', 'rw'], ['src', 'r']], [['s', 'f32']], 'dst[i] = dst[i] + P.s * src[i];');
export const mul = flatProgram('mul', [['out', 'rw'], ['x', 'r'], ['mask', 'r']], [], 'out[i] = x[i] * mask[i];');
export const mulBackward = flatProgram('mulBackward', [['dx', 'rw'], ['dout', 'r'], ['mask', 'r']], [],
  'dx[i] = dx[i] + dout[i] * mask[i];');
/** The device-side dropout stream (the contract's dropoutMask); i < 2^32. */
export const dropoutMask = flatProgram('dropoutMask', [['mask', 'rw']], [['threshold', 'u32'], ['keep', 'f32'], ['key0', 'u32'], ['key1', 'u32']],
  'mask[i] = select(P.keep, 0.0, (fmix32(fmix32(i ^ P.key0) ^ P.key1) >> 8u) < P.threshold);', FMIX32);
export const addBroadcast = flatProgram('addBroadcast', [['out', 'rw'], ['a', 'r'], ['b', 'r']], [['bn', 'u32']],
  'out[i] = a[i] + b[i % P.bn];');

// erf from the Chebyshev fit of erfc that the reference uses (fractional error < 1.2e-7)
const GELU_HELPERS = /* wgsl */ `
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let e = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(e - 1.0, 1.0 - e, x >= 0.0);
}
// tanh through exp overflows to inf/inf for large |u|; tanh(15) is 1 in float32
fn tanh_(u: f32) -> f32 { return tanh(clamp(u, -15.0, 15.0)); }
const SQRT1_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const TANH_C: f32 = 0.7978845608028654;
fn gelu_(x: f32, approx: bool) -> f32 {
  if (approx) { return 0.5 * x * (1.0 + tanh_(TANH_C * (x + 0.044715 * x * x * x))); }
  return 0.5 * x * (1.0 + erf_(x * SQRT1_2));
}
fn geluGrad(x: f32, approx: bool) -> f32 {
  if (approx) {
    let th = tanh_(TANH_C * (x + 0.044715 * x * x * x));
    let du = TANH_C * (1.0 + 3.0 * 0.044715 * x * x);
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du;
  }
  return 0.5 * (1.0 + erf_(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
}
`;
export const gelu = flatProgram('gelu', [['out', 'rw'], ['x', 'r']], [['approx', 'u32']],
  'out[i] = gelu_(x[i], P.approx != 0u);', GELU_HELPERS);
export const geluBackward = flatProgram('geluBackward', [['dx', 'rw'], ['dout', 'r'], ['x', 'r']], [['approx', 'u32']],
  'dx[i] = dx[i] + dout[i] * geluGrad(x[i], P.approx != 0u);', GELU_HELPERS);

/** i over B*C: out[b, c] = x[b, t, c]. */
export const selectPosition = flatProgram('selectPosition', [['out', 'rw'], ['x', 'r']], [['T', 'u32'], ['C', 'u32'], ['t', 'u32']],
  'let b = i / P.C; out[i] = x[(b * P.T + P.t) * P.C + i % P.C];');
export const selectPositionBackward = flatProgram('selectPositionBackward', [['dx', 'rw'], ['dout', 'r']],
  [['T', 'u32'], ['C', 'u32'], ['t', 'u32']],
  'let b = i / P.C; let o = (b * P.T + P.t) * P.C + i % P.C; dx[o] = dx[o] + dout[i];');

/** i over B*Tn*C: the k and v of qkv [B, Tn, 3C] into the caches [B, maxT, C] at position T0 + t. */
export const kvStore = flatProgram('kvStore', [['k', 'rw'], ['v', 'rw'], ['qkv', 'r']],
  [['Tn', 'u32'], ['C', 'u32'], ['T0', 'u32'], ['maxT', 'u32']], `
  let c = i % P.C; let bt = i / P.C; let b = bt / P.Tn; let t = bt % P.Tn;
  let src = bt * 3u * P.C + c;
  let dst = (b * P.maxT + P.T0 + t) * P.C + c;
  k[dst] = qkv[src + P.C];
  v[dst] = qkv[src + 2u * P.C];`);

/** i over N*C: out[r, c] = table[ids[r], c]. */
export const embedding = flatProgram('embedding', [['out', 'rw'], ['table', 'r'], ['ids', 'ids']], [['C', 'u32']],
  'out[i] = table[u32(ids[i / P.C]) * P.C + i % P.C];');

/** i over N*V: dlogits += dloss[0] / count * (probs - onehot(target)), rows with target -1 skipped. */
export const crossEntropyBackward = flatProgram('crossEntropyBackward', [['dlogits', 'rw'], ['probs', 'r'], ['targets', 'ids'], ['dloss', 'r']],
  [['V', 'u32'], ['count', 'f32']], `
  let t = targets[i / P.V];
  if (t < 0) { return; }
  let hot = select(0.0, 1.0, i32(i % P.V) == t);
  dlogits[i] = dlogits[i] + dloss[0] / P.count * (probs[i] - hot);`);

/** PyTorch's AdamW: decay = 1 - lr * weight_decay, bc1/bc2 the bias corrections of step t. */
export const adamw = flatProgram('adamw', [['p', 'rw'], ['m', 'rw'], ['v', 'rw'], ['g', 'r'], ['gradScale', 'r']],
  [['lr', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['eps', 'f32'], ['decay', 'f32'], ['bc1', 'f32'], ['bc2', 'f32'], ['scaled', 'u32']], `
  var grad = g[i];
  if (P.scaled != 0u) { grad = grad * gradScale[0]; }
  let mi = P.beta1 * m[i] + (1.0 - P.beta1) * grad;
  let vi = P.beta2 * v[i] + (1.0 - P.beta2) * grad * grad;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * P.decay - P.lr * (mi / P.bc1) / (sqrt(vi / P.bc2) + P.eps);`);

/** torch.nn.utils.clip_grad_norm_'s factor from the squared norm (one invocation). */
export const gradClipScale = flatProgram('gradClipScale', [['out', 'rw'], ['normSq', 'r']], [['maxNorm', 'f32']],
  'out[0] = min(1.0, P.maxNorm / (sqrt(normSq[0]) + 1e-6));');
