import { ensureGrad, record, Tensor } from '../tensor/tensor.js';
import type { DropoutSource } from './dropout.js';

/** [B, T, C] of a fused projection qkv [B, T, 3C] split into nHead heads, or an error saying why not. */
function attentionShape(qkv: Tensor, nHead: number): [number, number, number] {
  if (qkv.ndim !== 3 || qkv.shape[2] % 3 !== 0) throw new Error(`attention: qkv must be [B, T, 3C], got [${qkv.shape.join(', ')}]`);
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  if (C % nHead !== 0) throw new Error(`attention: n_embd (${C}) must be divisible by n_head (${nHead})`);
  return [B, T, C];
}

/**
 * Causal multi-head self-attention from the fused projection qkv [B, T, 3C] (q, k, v, each
 * split into nHead heads of C / nHead) to y [B, T, C], heads re-assembled side by side.
 * With dropout p > 0 and a source, the attention probabilities [B, H, T, T] are dropped as
 * nanoGPT's attn_dropout (with the torch stream, its mask drawn as F.dropout draws it).
 */
export function causalSelfAttention(qkv: Tensor, nHead: number, dropout = 0, source?: DropoutSource): Tensor {
  const [B, T, C] = attentionShape(qkv, nHead);
  const be = qkv.backend;
  const out = Tensor.empty([B, T, C], be);
  const saved = be.alloc(be.attentionSaved(B, nHead, T));
  const drop = dropout > 0 && source ? source.attention(be, B * nHead * T * T, dropout) : null;
  be.attention(out.buf, saved, qkv.buf, drop, B, T, C, nHead);
  out.saved.push(saved);
  if (drop && 'mask' in drop) out.saved.push(drop.mask);
  return record(out, [qkv], () => {
    be.attentionBackward(ensureGrad(qkv).buf, out.grad!.buf, out.buf, qkv.buf, saved, drop, B, T, C, nHead);
  });
}

/**
 * causalSelfAttention for inspection (no gradient, no dropout): y [B, T, C] and the attention
 * probabilities att [B, nHead, T, T] (row t: the softmax weights position t gives to 0..t,
 * zeros above the diagonal), from what the kernel saves for its backward.
 */
export function causalSelfAttentionProbs(qkv: Tensor, nHead: number): { y: Tensor; att: Tensor } {
  const [B, T, C] = attentionShape(qkv, nHead);
  const be = qkv.backend;
  const y = Tensor.empty([B, T, C], be);
  const att = Tensor.empty([B, nHead, T, T], be);
  const saved = be.alloc(be.attentionSaved(B, nHead, T));
  be.attention(y.buf, saved, qkv.buf, null, B, T, C, nHead);
  be.attentionProbs(att.buf, saved, qkv.buf, B, T, C, nHead);
  be.free(saved);
  return { y, att };
}
