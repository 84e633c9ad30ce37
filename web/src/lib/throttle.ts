// Calls `action` at most once per `ms`: the first call schedules it, later calls within that
// time join the scheduled one.

export interface Throttled {
  (): void;
  /** Drops a scheduled call (e.g. when the component using it goes away). */
  cancel: () => void;
}

export function throttle(action: () => void, ms: number): Throttled {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const throttled = () => {
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        action();
      }, ms);
    }
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}
