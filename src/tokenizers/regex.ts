/**
 * Split patterns are written for Python's `regex` module and Rust's `fancy-regex` (tiktoken).
 * JavaScript's RegExp differs in ways that change token ids, so patterns are translated:
 * - `\s` is Unicode White_Space there (includes U+0085, excludes U+FEFF); JS `\s` is not.
 *   -> `\p{White_Space}` / `\P{White_Space}`, which is exactly the Unicode property.
 * - `\d` and `\w` are Unicode-aware there, ASCII in JS -> `\p{Nd}`, UTS#18 word characters.
 * - scoped flags `(?i:...)` do not exist in Node 20 -> ASCII letters expanded to their case
 *   variants, including the non-ASCII simple case folds (`s` ~ U+017F, `k` ~ U+212A).
 * - possessive quantifiers `X?+ X*+ X++` and atomic groups `(?>...)` -> the exact emulation
 *   `(?=(?<a>X+))\k<a>`: a lookahead is atomic in JS, and the backreference consumes its match.
 * - `.` excludes only `\n`; a literal `{` or `}` needs no escape; any punctuation may be escaped.
 * Anything else that would change meaning silently is refused with a UserError.
 */
import { UserError } from '../errors.js';

const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\u200C\\u200D';
/** Letters whose simple case folding reaches beyond ASCII. */
const EXTRA_FOLDS: Record<string, string> = { s: '\\u017F', k: '\\u212A' };
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/-');

function caseVariants(ch: string): string {
  const lower = ch.toLowerCase();
  return lower + lower.toUpperCase() + (EXTRA_FOLDS[lower] ?? '');
}

function isAsciiLetter(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/** Translate a Python/Rust split pattern to the source of an equivalent JS RegExp (flag `u`). */
export function translatePattern(pattern: string): string {
  let out = '';
  let i = 0;
  let atomCount = 0;
  // One entry per open group: where its output starts, whether it is atomic, its case flag.
  const groups: { start: number; atomic: string | null; ignoreCase: boolean; varies: boolean }[] = [];
  // Whether the last atom is a group that can match one text in several ways (it holds a
  // quantifier or an alternation): repeating such a group backtracks exponentially.
  let lastAtomVaries = false;
  const varies = () => { if (groups.length) groups[groups.length - 1].varies = true; };
  let ignoreCase = false;
  let lastAtomStart = -1;
  const fail = (why: string): never => {
    throw new UserError(`split pattern ${JSON.stringify(pattern)}: ${why} (at offset ${i})`);
  };

  /** One escape sequence starting at pattern[i] === '\\'; returns [text, class-safe]. */
  const escape = (inClass: boolean): string => {
    const c = pattern[i + 1];
    if (c === undefined) fail('the pattern ends with a lone backslash');
    i += 2;
    switch (c) {
      case 's': return '\\p{White_Space}';
      case 'S': return '\\P{White_Space}';
      case 'd': return '\\p{Nd}';
      case 'D': return '\\P{Nd}';
      case 'w': return inClass ? WORD : `[${WORD}]`;
      case 'W': if (inClass) fail('\\W inside a character class is not supported'); return `[^${WORD}]`;
      case 'p': case 'P': {
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i);
          if (end < 0) fail('unterminated \\p{...}');
          const name = pattern.slice(i + 1, end);
          i = end + 1;
          return `\\${c}{${name}}`;
        }
        const name = pattern[i++];
        if (name === undefined) fail('\\p needs a property name');
        return `\\${c}{${name}}`;
      }
      case 't': case 'n': case 'r': case 'f': case 'v': return '\\' + c;
      case '0': return '\\0';
      case 'x': case 'u': {
        const n = c === 'x' ? 2 : 4;
        const hex = pattern.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail(`bad \\${c} escape`);
        i += n;
        return `\\u{${hex}}`;
      }
      case 'A': if (inClass) fail('\\A inside a class'); return '^';
      // Python's \Z and Rust's \z: the very end (not before a final newline)
      case 'z': case 'Z': if (inClass) fail(`\\${c} inside a class`); return '$';
      default:
        if (/[0-9]/.test(c)) fail('backreferences are not supported in split patterns');
        if (/[A-Za-z]/.test(c)) fail(`the escape \\${c} is not supported`);
        if (c === '-') return inClass ? '\\-' : '-';
        if (JS_SYNTAX.has(c)) return '\\' + c;
        return `\\u{${c.codePointAt(0)!.toString(16)}}`;
    }
  };

  const charClass = (): string => {
    // pattern[i] === '['
    let s = '[';
    i++;
    if (pattern[i] === '^') { s += '^'; i++; }
    if (pattern[i] === ']') { s += '\\]'; i++; }
    let prevLetter = '';
    while (i < pattern.length && pattern[i] !== ']') {
      const ch = pattern[i];
      if (ch === '\\') { s += escape(true); prevLetter = ''; continue; }
      if (ch === '[') { s += '\\['; i++; prevLetter = ''; continue; }
      if (ch === '-' && prevLetter && ignoreCase && pattern[i + 1] && isAsciiLetter(pattern[i + 1]) && pattern[i + 1] !== ']') {
        // a range of letters under (?i): add the other case's range too
        const to = pattern[i + 1];
        s += '-' + to;
        const [a, b] = [prevLetter, to];
        const flip = (x: string) => (x === x.toLowerCase() ? x.toUpperCase() : x.toLowerCase());
        s += flip(a) + '-' + flip(b);
        if (a.toLowerCase() <= 's' && b.toLowerCase() >= 's') s += EXTRA_FOLDS.s;
        if (a.toLowerCase() <= 'k' && b.toLowerCase() >= 'k') s += EXTRA_FOLDS.k;
        i += 2;
        prevLetter = '';
        continue;
      }
      const cp = pattern.codePointAt(i)!;
      const chFull = String.fromCodePoint(cp);
      i += chFull.length;
      if (ignoreCase && isAsciiLetter(chFull)) {
        s += caseVariants(chFull);
        prevLetter = chFull;
      } else {
        if (ignoreCase && chFull.toLowerCase() !== chFull.toUpperCase()) fail(`case-insensitive non-ASCII letter ${JSON.stringify(chFull)} is not supported`);
        s += chFull === '/' || chFull === '{' || chFull === '}' || chFull === '(' || chFull === ')' || chFull === '|' ? '\\' + chFull : chFull;
        prevLetter = '';
      }
    }
    if (pattern[i] !== ']') fail('unterminated character class');
    i++;
    return s + ']';
  };

  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === '\\') {
      lastAtomStart = out.length; lastAtomVaries = false;
      out += escape(false);
    } else if (ch === '[') {
      lastAtomStart = out.length; lastAtomVaries = false;
      out += charClass();
    } else if (ch === '(') {
      const rest = pattern.slice(i, i + 4);
      const start = out.length;
      let atomic: string | null = null;
      const outer = ignoreCase;
      if (rest.startsWith('(?:') || rest.startsWith('(?=') || rest.startsWith('(?!')) { out += rest.slice(0, 3); i += 3; }
      else if (rest.startsWith('(?<=') || rest.startsWith('(?<!')) { out += rest; i += 4; }
      else if (rest.startsWith('(?>')) { atomic = `_a${atomCount++}`; out += `(?=(?<${atomic}>`; i += 3; }
      else if (rest.startsWith('(?P<')) { out += '(?<'; i += 4; }
      else if (rest.startsWith('(?<')) { out += '(?<'; i += 3; }
      else if (rest.startsWith('(?i:')) { out += '(?:'; i += 4; ignoreCase = true; }
      else if (rest.startsWith('(?i)')) {
        if (groups.length > 0 || out.length > 0) fail('(?i) is only supported at the start of the pattern');
        ignoreCase = true; i += 4; continue;
      } else if (rest.startsWith('(?')) fail(`the group ${JSON.stringify(rest)}... is not supported`);
      else { out += '('; i += 1; }
      groups.push({ start, atomic, ignoreCase: outer, varies: false });
      continue;
    } else if (ch === ')') {
      const g = groups.pop();
      if (!g) fail('unbalanced )');
      out += g!.atomic ? `))\\k<${g!.atomic}>` : ')';
      ignoreCase = g!.ignoreCase;
      lastAtomStart = g!.start;
      lastAtomVaries = g!.varies;
      if (g!.varies) varies();
      i++;
      continue;
    } else if (ch === '?' || ch === '*' || ch === '+' || (ch === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      if (lastAtomStart < 0) fail(`the quantifier ${ch} follows nothing`);
      let q = ch;
      if (ch === '{') q = /^\{\d+(,\d*)?\}/.exec(pattern.slice(i))![0];
      const repeats = q === '*' || q === '+' || /^\{\d+,(\d*)\}$/.test(q) && !/^\{\d+,[01]\}$/.test(q);
      if (repeats && lastAtomVaries) {
        fail(`the group before ${q} repeats something that itself repeats or alternates (as in (a+)+ or (a|ab)*): matching it can take exponential time, so such patterns are refused; rewrite it without the nested repetition`);
      }
      varies();
      lastAtomVaries = false;
      i += q.length;
      if (pattern[i] === '?') { q += '?'; i++; }
      else if (pattern[i] === '+') {
        i++;
        const name = `_a${atomCount++}`;
        out = out.slice(0, lastAtomStart) + `(?=(?<${name}>` + out.slice(lastAtomStart) + q + `))\\k<${name}>`;
        lastAtomStart = -1;
        continue;
      }
      out += q;
      lastAtomStart = -1;
      continue;
    } else if (ch === '|') {
      varies();
      out += '|';
      lastAtomStart = -1;
      i++;
      continue;
    } else if (ch === '.') {
      lastAtomStart = out.length; lastAtomVaries = false;
      out += '[^\\n]';
      i++;
    } else if (ch === '$') {
      out += '(?=\\n?$)';
      lastAtomStart = -1;
      i++;
      continue;
    } else if (ch === '^') {
      out += '^';
      lastAtomStart = -1;
      i++;
      continue;
    } else {
      lastAtomStart = out.length; lastAtomVaries = false;
      const chFull = String.fromCodePoint(pattern.codePointAt(i)!);
      i += chFull.length;
      if (ignoreCase && isAsciiLetter(chFull)) out += `[${caseVariants(chFull)}]`;
      else if (ignoreCase && chFull.toLowerCase() !== chFull.toUpperCase()) fail(`case-insensitive non-ASCII letter ${JSON.stringify(chFull)} is not supported`);
      else out += chFull === '{' || chFull === '}' || chFull === '/' ? '\\' + chFull : chFull;
    }
  }
  if (groups.length > 0) fail('unbalanced (');
  return out;
}

/** Compile a Python/Rust split pattern into a global Unicode JS RegExp. */
export function compilePattern(pattern: string): RegExp {
  const source = translatePattern(pattern);
  try {
    return new RegExp(source, 'gu');
  } catch (e) {
    throw new UserError(`split pattern ${JSON.stringify(pattern)} is not a valid regular expression here: ${(e as Error).message}`);
  }
}

/**
 * Every non-empty match of `re` in `text`, in order, as Python's `regex.findall` / Rust's
 * `find_iter` with these patterns (an empty match just moves on by one character).
 */
export function splitText(re: RegExp, text: string): string[] {
  const chunks: string[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex += (text.codePointAt(re.lastIndex) ?? 0) > 0xffff ? 2 : 1;
      continue;
    }
    chunks.push(m[0]);
  }
  return chunks;
}
