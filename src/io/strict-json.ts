/**
 * A JSON parser as strict as serde_json (what the safetensors reference reader parses headers
 * with), where JSON.parse is lenient or loses information:
 * - duplicate keys in an object are an error (JSON.parse keeps the last silently);
 * - numbers keep their source text, so `3`, `3.0` and `3e0` stay distinguishable and integers
 *   past 2^53 stay exact (a usize field must be an integer literal);
 * - escapes that make lone surrogates are an error (serde_json refuses them in a String);
 * - more than 127 nested arrays and objects is an error (serde_json's recursion limit of 128
 *   counts down to 0 on the 128th; also bounds our stack).
 * Objects come back as Maps in source order, so no key ("__proto__") is special.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
  /** The value as an unsigned integer, or null when the literal is not one (fraction, exponent, sign). */
  asUnsigned(): bigint | null {
    return /^(0|[1-9][0-9]*)$/.test(this.text) ? BigInt(this.text) : null;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | Map<string, JsonValue>;

export class JsonSyntaxError extends Error {}

const MAX_DEPTH = 127;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function parseStrictJson(text: string): JsonValue {
  let i = 0;
  const fail = (why: string): never => {
    throw new JsonSyntaxError(`${why} at character ${i}`);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  // scanned by hand: a regex over a long string would grow the engine's backtracking stack
  const str = (): string => {
    const start = i++;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c !== c) fail('unterminated string'); // NaN: past the end
      if (c === 0x22) break;
      if (c < 0x20) fail('a raw control character in a string');
      if (c === 0x5c) {
        escaped = true;
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape');
        continue;
      }
      i++;
    }
    i++;
    const s = escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
    if (LONE_SURROGATE.test(s)) fail('a string holds a lone surrogate');
    return s;
  };
  /** depth: arrays and objects open around this value. */
  const value = (depth: number): JsonValue => {
    skipSpace();
    const c = text[i];
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH) fail(`more than ${MAX_DEPTH} nested arrays and objects`);
    if (c === '{') {
      i++;
      const obj = new Map<string, JsonValue>();
      skipSpace();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        skipSpace();
        if (text[i] !== '"') fail('expected a key');
        const key = str();
        if (obj.has(key)) fail(`duplicate key ${JSON.stringify(key)}`);
        skipSpace();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        obj.set(key, value(depth + 1));
        skipSpace();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      skipSpace();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        skipSpace();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const v = value(0);
  skipSpace();
  if (i < text.length) fail('trailing characters after the JSON value');
  return v;
}
