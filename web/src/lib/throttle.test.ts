import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttle } from './throttle';

describe('throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs once per period however often it is called', () => {
    const action = vi.fn();
    const throttled = throttle(action, 500);
    throttled();
    throttled();
    vi.advanceTimersByTime(499);
    expect(action).not.toHaveBeenCalled();
    throttled();
    vi.advanceTimersByTime(1);
    expect(action).toHaveBeenCalledTimes(1);
    throttled();
    vi.advanceTimersByTime(500);
    expect(action).toHaveBeenCalledTimes(2);
  });

  it('can be cancelled', () => {
    const action = vi.fn();
    const throttled = throttle(action, 100);
    throttled();
    throttled.cancel();
    vi.advanceTimersByTime(200);
    expect(action).not.toHaveBeenCalled();
  });
});
