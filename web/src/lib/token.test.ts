import { beforeEach, describe, expect, it } from 'vitest';
import {
  authHeaders, clearToken, getToken, setToken, webSocketProtocols, webSocketUrl,
} from './token';

describe('token', () => {
  beforeEach(() => sessionStorage.clear());

  it('is absent until set', () => {
    expect(getToken()).toBeNull();
    expect(authHeaders(getToken())).toEqual({});
  });

  it('is kept in sessionStorage, trimmed', () => {
    setToken('  s3cret \n');
    expect(getToken()).toBe('s3cret');
    expect(sessionStorage.getItem('fust.token')).toBe('s3cret');
    expect(localStorage.getItem('fust.token')).toBeNull();
    expect(authHeaders(getToken())).toEqual({ Authorization: 'Bearer s3cret' });
  });

  it('is cleared by clearToken and by a blank token', () => {
    setToken('a');
    clearToken();
    expect(getToken()).toBeNull();
    setToken('b');
    setToken('   ');
    expect(getToken()).toBeNull();
  });

  it('becomes WebSocket subprotocols', () => {
    expect(webSocketProtocols(null)).toEqual(['fust']);
    // "tok?en" is dG9rP2Vu in base64; "abc>" is YWJjPg== (padded), YWJjPg here.
    expect(webSocketProtocols('tok?en')).toEqual(['fust', 'bearer.dG9rP2Vu']);
    expect(webSocketProtocols('abc>')).toEqual(['fust', 'bearer.YWJjPg']);
  });

  it('gives ws and wss URLs on the same origin', () => {
    expect(webSocketUrl('/runs/1/ws', { protocol: 'http:', host: '127.0.0.1:8080' }))
      .toBe('ws://127.0.0.1:8080/runs/1/ws');
    expect(webSocketUrl('/events/ws', { protocol: 'https:', host: 'fust.internal' }))
      .toBe('wss://fust.internal/events/ws');
  });
});
