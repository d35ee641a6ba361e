import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/errors.js';
import { GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, resolvePatternName, splitRegExp } from '../../src/tokenizers/patterns.js';
import { compilePattern, splitText, translatePattern } from '../../src/tokenizers/regex.js';
import { noShakespeare, shakespeare } from './fixtures.js';

const split = (pattern: string, text: string): string[] => splitText(compilePattern(pattern), text);

describe('split pattern translation', () => {
  test('\\s is Unicode White_Space: U+0085 yes, U+FEFF no', () => {
    assert.deepEqual(split(String.raw`\s+|\S+`, 'a\u0085b\uFEFFc d'), ['a', '\u0085', 'b\uFEFFc', ' ', 'd']);
    assert.deepEqual(split(String.raw`[^\s]+`, '\u3000x\u2028y'), ['x', 'y']);
    // GPT-2's pattern: NEL is whitespace, BOM is "other"
    assert.deepEqual(split(GPT2_SPLIT_PATTERN, 'a\u0085 b \uFEFF'), ['a', '\u0085', ' b', ' \uFEFF']);
  });

  test('scoped (?i:...) matches case variants, including U+017F for s', () => {
    const p = String.raw`'(?i:s|ll)|\p{L}+|.`;
    assert.deepEqual(split(p, "it'S he'LL 'ſ"), ['it', "'S", ' ', 'he', "'LL", ' ', "'ſ"]);
    assert.deepEqual(split(String.raw`(?i:[a-c]+)`, 'xAbCx'), ['AbC']);
  });

  test('possessive quantifiers do not give back what they took', () => {
    // greedy: a+ gives back one 'a' so that 'ab' can match; possessive: it cannot
    assert.deepEqual(split('a++b|a', 'aab'), ['aab']);
    assert.deepEqual(split('a++ab|a', 'aab'), ['a', 'a']);
    assert.deepEqual(split('a*+ab|.', 'aab'), ['a', 'a', 'b']);
    assert.deepEqual(split('(?>a+)ab|.', 'aab'), ['a', 'a', 'b']);
  });

  test('Python syntax JS would reject or read differently', () => {
    assert.deepEqual(split(String.raw`\'|\-|x{|}`, "'-x{}"), ["'", '-', 'x{', '}']);
    assert.deepEqual(split(String.raw`\d+|.`, '12٣'), ['12٣']); // Arabic-Indic digit is \d in Python
    assert.deepEqual(split('.+', 'a\rb\u2028c\nd'), ['a\rb\u2028c', 'd']); // only \n stops .
    assert.deepEqual(split('(?P<w>a)b', 'ab'), ['ab']);
  });

  test('unsupported constructs are clear errors, not silent differences', () => {
    for (const p of [String.raw`\bx`, String.raw`(a)\1`, '(?x)a', 'a(?i)b', '[abc', 'a)', '(?i:é)', '*a']) {
      assert.throws(() => compilePattern(p), (e: Error) => e instanceof UserError && e.message.includes(JSON.stringify(p)), p);
    }
    assert.throws(() => resolvePatternName(''), UserError);
    assert.equal(resolvePatternName('gpt4'), GPT4_SPLIT_PATTERN);
  });

  test('the GPT-4 pattern translates to the expected source', () => {
    assert.equal(translatePattern(GPT2_SPLIT_PATTERN), String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+`);
    assert.ok(translatePattern(GPT4_SPLIT_PATTERN).startsWith(String.raw`'(?:[sS\u017FdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|(?=(?<_a0>[^\r\n\p{L}\p{N}]?))\k<_a0>\p{L}+`));
  });

  test('GPT-4 possessives change nothing on tinyshakespeare (so the greedy form would do)', { skip: noShakespeare }, () => {
    const text = shakespeare()!;
    const greedy = splitText(compilePattern(GPT4_SPLIT_PATTERN.replace('?+', '?').replace('++', '+')), text);
    assert.deepEqual(splitText(splitRegExp(GPT4_SPLIT_PATTERN), text), greedy);
  });
});
