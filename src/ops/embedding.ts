import { ensureGrad, IntTensor, record, Tensor } from '../tensor/tensor.js';

/** Rows of table [V, C] picked by ids [...] -> [..., C]. */
export function embedding(table: Tensor, ids: IntTensor): Tensor {
  const [V, C] = table.shape;
  for (let i = 0; i < ids.data.length; i++) {
    const id = ids.data[i];
    if (!(id >= 0 && id < V)) throw new Error(`embedding: id ${id} at position ${i} is out of range [0, ${V})`);
  }
  const be = table.backend;
  const N = ids.data.length;
  const out = Tensor.empty([...ids.shape, C], be);
  be.embedding(out.buf, table.buf, ids.data, N, C);
  return record(out, [table], () => be.embeddingBackward(ensureGrad(table).buf, out.grad!.buf, ids.data, N, C));
}
