import { describe, expect, it } from 'vitest';
import { base64url } from './base64url';

describe('base64url', () => {
  it('drops the padding', () => {
    expect(base64url('a')).toBe('YQ');
    expect(base64url('ab')).toBe('YWI');
    expect(base64url('abc')).toBe('YWJj');
  });

  it('uses - and _ instead of + and /', () => {
    // 0xfb 0xff encodes to "+/8=" in plain base64.
    expect(base64url('\u00fb\u00ff')).toBe('w7vDvw');
    expect(base64url('>>>???')).toBe('Pj4-Pz8_');
  });

  it('encodes UTF-8 bytes', () => {
    expect(base64url('é')).toBe('w6k');
    expect(base64url('')).toBe('');
  });
});
