// Shows a page's crash as a message instead of a blank page (React's error boundary). A part
// of the console that fails to load (e.g. after an upgrade renamed the files) lands here too.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    // Kept for whoever opens the developer tools; the page shows the message.
    console.warn('The page failed:', error, info.componentStack);
  }

  render() {
    const { error } = this.state;
    if (error === null) {
      return this.props.children;
    }
    const failedToLoad = /dynamically imported module|Importing a module script failed|Loading chunk/i.test(error.message);
    return (
      <main id="content" tabIndex={-1} className="page">
        <h1>{failedToLoad ? 'This part of the console did not load' : 'This page failed'}</h1>
        <p className="notice notice-error" role="alert">
          {failedToLoad
            ? 'The server may have been upgraded since this page was opened. Reload to get the current console.'
            : error.message}
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </main>
    );
  }
}
