// The arithmetic of one shakespeare_char_cpu training iteration, and how far a measured
// iteration is from the machine's peak.

/**
 * FLOPs of one training iteration (forward + backward) by nanoGPT's estimate_mfu: 6 per
 * parameter per token (matmuls), plus 12 * n_layer * n_head * head_size * block_size per
 * token for attention; parameters counted without the position embeddings, as nanoGPT does.
 */
export function trainingFlopsPerIter(cfg: { n_layer: number; n_head: number; n_embd: number; block_size: number; vocab_size: number; bias: boolean }, batch: number): number {
  const C = cfg.n_embd, L = cfg.n_layer;
  const perBlock = 12 * C * C + (cfg.bias ? 13 * C : 4 * C); // qkv, proj, fc, proj weights (+ biases) and two LayerNorms
  const params = L * perBlock + cfg.vocab_size * C + (cfg.bias ? 2 * C : C);
  const perToken = 6 * params + 12 * L * cfg.n_head * (C / cfg.n_head) * cfg.block_size;
  return perToken * batch * cfg.block_size;
}

/**
 * The figure for this machine's peak (2 cores x ~225 GFLOP/s of AVX-512 FMA); an
 * AVX-512 FMA loop measured here (native/README.md) reaches ~116 per core, ~232 on both.
 */
export const PEAK_GFLOPS_STATED = 450;
export const PEAK_GFLOPS_MEASURED = 232;
