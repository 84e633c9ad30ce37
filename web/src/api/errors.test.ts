import { describe, expect, it } from 'vitest';
import { ApiError, failureFromResponse, messageOf, unreachable } from './errors';

describe('failureFromResponse', () => {
  it('keeps the server\'s message', () => {
    const error = failureFromResponse(404, { error: 'no job named `x`' });
    expect(error.kind).toBe('not-found');
    expect(error.status).toBe(404);
    expect(error.message).toBe('no job named `x`');
  });

  it('asks for a token on 401', () => {
    const error = failureFromResponse(401, { error: 'missing or wrong bearer token' });
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('bearer token');
    expect(failureFromResponse(401, null).message).toContain('token');
  });

  it('carries the problems of an invalid job', () => {
    const problems = [{ line: 3, column: 5, key: 'input.path', message: 'missing' }];
    const error = failureFromResponse(422, { error: 'request body has 1 problem', problems });
    expect(error.kind).toBe('invalid');
    expect(error.problems).toEqual(problems);
  });

  it('reads a 5xx without a Fust body as the API being unreachable', () => {
    for (const status of [502, 503, 504]) {
      const error = failureFromResponse(status, '');
      expect(error.kind).toBe('unreachable');
      expect(error.status).toBe(0);
      expect(error.message).toContain('fust serve');
    }
  });

  it('keeps a 5xx that Fust sent', () => {
    const store = failureFromResponse(503, { error: 'the metadata store is unreachable' });
    expect(store.kind).toBe('server');
    expect(store.message).toBe('the metadata store is unreachable');
    const slow = failureFromResponse(504, { error: 'preview took longer than 30s' });
    expect(slow.kind).toBe('timeout');
  });

  it('has a message for a status without a body', () => {
    expect(failureFromResponse(413, undefined).message).toContain('body_limit');
    expect(failureFromResponse(500, undefined).message).toBe('The server answered 500.');
    expect(failureFromResponse(418, { error: '' }).message).toBe('The server answered 418.');
  });
});

describe('unreachable', () => {
  it('says what to check', () => {
    const error = unreachable('Failed to fetch');
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe(
      'Cannot reach the Fust API (Failed to fetch). Is `fust serve` running, and is this page served by it?',
    );
    expect(messageOf(error)).toBe(error.message);
    expect(messageOf('plain')).toBe('plain');
  });
});
