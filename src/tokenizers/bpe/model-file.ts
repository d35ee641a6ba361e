/**
 * Saved forms of a byte-level BPE model.
 *
 * minbpe's `.model` text (what minbpe's save() writes and load() reads):
 *   minbpe v1
 *   <split pattern, empty for BasicTokenizer>
 *   <number of special tokens>
 *   <special> <id>          (one line each)
 *   <left> <right>          (one line per merge; merge i makes token 256 + i)
 *
 * The JSON form is the tokenizer spec: { kind: 'bpe', pattern, merges: [[left, right], ...],
 * special_tokens: { text: id } }, self-contained so a dataset or checkpoint can carry it.
 */
import { UserError } from '../../errors.js';

export interface BpeModel {
  /** Split pattern (Python/Rust syntax); '' = no split (minbpe's BasicTokenizer). */
  pattern: string;
  /** merges[i] = [left, right] makes token 256 + i. */
  merges: [number, number][];
  specialTokens: Record<string, number>;
}

const MAGIC = 'minbpe v1';

/** Check that every merge only uses tokens that exist before it. */
export function validateMerges(merges: unknown, what: string): [number, number][] {
  if (!Array.isArray(merges)) throw new UserError(`${what}: "merges" must be an array of [left, right] pairs`);
  const seen = new Set<number>();
  return merges.map((m, i) => {
    const id = 256 + i;
    if (!Array.isArray(m) || m.length !== 2 || !m.every((x) => Number.isInteger(x) && x >= 0 && x < id)) {
      throw new UserError(`${what}: merge ${i} (${JSON.stringify(m)}) must be two token ids below ${id}, the id it creates`);
    }
    const key = m[0] * 2 ** 24 + m[1];
    if (seen.has(key)) throw new UserError(`${what}: merge ${i} (${m[0]} ${m[1]}) repeats an earlier merge`);
    seen.add(key);
    return [m[0], m[1]] as [number, number];
  });
}

export function formatMinbpeModel(model: BpeModel): string {
  const lines = [MAGIC, model.pattern, String(Object.keys(model.specialTokens).length)];
  if (/[\r\n]/.test(model.pattern) || model.pattern !== model.pattern.trim()) {
    throw new UserError('this split pattern cannot be saved in minbpe\'s .model format (it has a line break or leading/trailing whitespace); save the JSON form instead');
  }
  for (const [text, id] of Object.entries(model.specialTokens)) {
    if (/\s/.test(text)) throw new UserError(`special token ${JSON.stringify(text)} contains whitespace and cannot be saved in minbpe's .model format; save the JSON form instead`);
    lines.push(`${text} ${id}`);
  }
  for (const [l, r] of model.merges) lines.push(`${l} ${r}`);
  return lines.join('\n') + '\n';
}

export function parseMinbpeModel(text: string, what = 'minbpe model'): BpeModel {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0]?.trim() !== MAGIC) throw new UserError(`${what}: expected the first line to be "${MAGIC}", got ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
  if (lines.length < 3) throw new UserError(`${what}: truncated (expected a pattern line and a special-token count)`);
  const pattern = lines[1].trim();
  const countText = lines[2].trim();
  if (!/^\d+$/.test(countText)) throw new UserError(`${what}: line 3 must be the number of special tokens, got ${JSON.stringify(countText.slice(0, 40))}`);
  const nSpecial = Number(countText);
  if (lines.length < 3 + nSpecial) throw new UserError(`${what}: truncated: expected ${nSpecial} special-token lines, found ${lines.length - 3}`);
  const specialTokens: Record<string, number> = {};
  for (let k = 0; k < nSpecial; k++) {
    const parts = lines[3 + k].trim().split(/\s+/);
    if (parts.length !== 2 || !/^\d+$/.test(parts[1])) throw new UserError(`${what}: line ${4 + k} must be "<special token> <id>", got ${JSON.stringify(lines[3 + k].slice(0, 60))}`);
    if (parts[0] in specialTokens) throw new UserError(`${what}: special token ${JSON.stringify(parts[0])} appears twice`);
    specialTokens[parts[0]] = Number(parts[1]);
  }
  const merges: number[][] = [];
  for (let k = 3 + nSpecial; k < lines.length; k++) {
    const parts = lines[k].trim().split(/\s+/);
    if (parts.length !== 2 || !parts.every((p) => /^\d+$/.test(p))) throw new UserError(`${what}: line ${k + 1} must be a merge "<left id> <right id>", got ${JSON.stringify(lines[k].slice(0, 60))}`);
    merges.push(parts.map(Number));
  }
  return { pattern, merges: validateMerges(merges, what), specialTokens };
}
