/**
 * The encoding loop shared by byte-level BPE tokenizers: parts of a chunk are merged, the pair
 * with the lowest rank first, the leftmost among equal ranks first, until no pair has a rank.
 * (minbpe merges every occurrence of the lowest pair at once, left to right; since a merge's
 * result only takes part in merges of higher rank, that is the same sequence of merges.)
 *
 * Parts are named by the byte offset where they start; a part ends where the next one starts.
 * `rankOf(start, mid, end)` is the rank of merging [start, mid) with [mid, end), or Infinity when
 * that pair does not merge (ranks may be any other number: SentencePiece passes -score);
 * `onMerge(start, mid, end)` tells the caller that the merge happened.
 * Returns the starts of the final parts, in order.
 */
export type RankOf = (start: number, mid: number, end: number) => number;
export type OnMerge = (start: number, mid: number, end: number) => void;

/** Below this length the quadratic scan beats a heap (chunks from a split are short). */
const SHORT = 48;

export function mergeParts(n: number, rankOf: RankOf, onMerge?: OnMerge): number[] {
  if (n <= 1) return n === 1 ? [0] : [];
  return n <= SHORT ? mergeShort(n, rankOf, onMerge) : mergeLong(n, rankOf, onMerge);
}

function mergeShort(n: number, rankOf: RankOf, onMerge?: OnMerge): number[] {
  // starts[i]: start of part i; ranks[i]: rank of merging parts i and i+1 (Infinity: none)
  const starts: number[] = new Array(n + 1);
  for (let i = 0; i <= n; i++) starts[i] = i;
  const ranks: number[] = new Array(n - 1);
  for (let i = 0; i < n - 1; i++) ranks[i] = rankOf(i, i + 1, i + 2);
  let parts = n;
  while (parts > 1) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i < parts - 1; i++) {
      const r = ranks[i];
      if (r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) break;
    onMerge?.(starts[best], starts[best + 1], starts[best + 2]);
    starts.splice(best + 1, 1);
    ranks.splice(best, 1);
    parts--;
    if (best > 0) ranks[best - 1] = rankOf(starts[best - 1], starts[best], starts[best + 1]);
    if (best < parts - 1) ranks[best] = rankOf(starts[best], starts[best + 1], starts[best + 2]);
  }
  starts.length = parts;
  return starts;
}

/** A binary heap of (rank, start, version) entries; stale entries are skipped when popped. */
function mergeLong(n: number, rankOf: RankOf, onMerge?: OnMerge): number[] {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const version = new Int32Array(n);
  for (let i = 0; i < n; i++) { next[i] = i + 1; prev[i] = i - 1; }
  const end = (p: number) => (p >= n ? n : next[p]);

  let hRank = new Float64Array(n), hPos = new Int32Array(n), hVer = new Int32Array(n);
  let size = 0;
  const less = (i: number, j: number) => hRank[i] < hRank[j] || (hRank[i] === hRank[j] && hPos[i] < hPos[j]);
  const swap = (i: number, j: number) => {
    const r = hRank[i]; hRank[i] = hRank[j]; hRank[j] = r;
    const p = hPos[i]; hPos[i] = hPos[j]; hPos[j] = p;
    const v = hVer[i]; hVer[i] = hVer[j]; hVer[j] = v;
  };
  const push = (p: number) => {
    const q = next[p];
    if (q >= n) return;
    const rank = rankOf(p, q, end(q));
    if (!(rank < Infinity)) return;
    if (size === hRank.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, b: T): T => { b.set(a); return b; };
      hRank = grow(hRank, new Float64Array(size * 2));
      hPos = grow(hPos, new Int32Array(size * 2));
      hVer = grow(hVer, new Int32Array(size * 2));
    }
    let i = size++;
    hRank[i] = rank; hPos[i] = p; hVer[i] = version[p];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(i, parent)) break;
      swap(i, parent);
      i = parent;
    }
  };
  const pop = () => {
    size--;
    swap(0, size);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };

  for (let p = 0; p < n - 1; p++) push(p);
  while (size > 0) {
    const p = hPos[0], ver = hVer[0];
    pop();
    if (version[p] !== ver || prev[p] === -2) continue; // the pair at p changed since this entry
    const q = next[p];
    onMerge?.(p, q, end(q));
    // fold q into p; the pairs (prev, p) and (p, next) are new
    next[p] = next[q];
    if (next[q] < n) prev[next[q]] = p;
    prev[q] = -2;
    version[p]++;
    push(p);
    const o = prev[p];
    if (o >= 0) { version[o]++; push(o); }
  }
  const starts: number[] = [];
  for (let p = 0; p < n; p = next[p]) starts.push(p);
  return starts;
}
