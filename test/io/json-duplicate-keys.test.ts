import { describe, expect, it } from 'vitest';
import { findDuplicateJsonKey } from '../../src/io/json-duplicate-keys.js';

describe('findDuplicateJsonKey', () => {
  const cases: [string, string | undefined][] = [
    ['{}', undefined],
    ['{"a": 1, "b": 2}', undefined],
    ['{"a": 1, "a": 2}', 'a'],
    ['{"a": {"x": 1}, "b": {"x": 2}}', undefined], // same key in different objects is fine
    ['{"a": {"x": 1, "x": 2}}', 'x'],
    ['{"a": [{"k": 1}, {"k": 2}], "b": 0}', undefined],
    ['{"a": [{"k": 1, "k": 2}]}', 'k'],
    ['{"a": "b", "b": "a"}', undefined], // values are not keys
    ['{"a": "}{\\"a\\": 1", "c": 1}', undefined], // braces and quotes inside a string value
    ['{"q\\"x": 1, "q\\"x": 2}', 'q"x'],
    ['{"w": 1, "\\u0077": 2}', 'w'], // escapes decode before comparing
    ['{"\\\\": 1, "\\\\": 2}', '\\'],
    ['[{"a": 1}, {"a": 1}]', undefined],
    ['{"a": [1, {"b": [2, {"c": 3, "c": 4}]}]}', 'c'],
    ['{"__proto__": 1, "__proto__": 2}', '__proto__'],
  ];
  for (const [text, dup] of cases) {
    it(`${text} -> ${String(dup)}`, () => {
      JSON.parse(text); // the precondition: already valid JSON
      expect(findDuplicateJsonKey(text)).toBe(dup);
    });
  }
});
