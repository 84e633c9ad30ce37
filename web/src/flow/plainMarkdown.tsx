// A stand-in for `markdown-to-jsx/react`, which @rjsf/core imports for descriptions written
// in Markdown (only with `ui:enableMarkdownInDescription`, which the console never sets):
// aliased in vite.config.ts, it keeps ~32 KB gzipped of Markdown parser out of the build.
import type { ReactNode } from 'react';

/** Renders its text as it is. */
export function Markdown({ children }: { children?: ReactNode }) {
  return <>{children}</>;
}

export default Markdown;
