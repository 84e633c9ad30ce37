import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { ErrorBoundary } from './ErrorBoundary';

function Crash({ message }: { message: string }): never {
  throw new Error(message);
}

describe('ErrorBoundary', () => {
  afterEach(() => {
    cleanup();
    vi.restoreAllMocks();
  });

  it('shows the error instead of a blank page', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    render(<ErrorBoundary><Crash message="options is undefined" /></ErrorBoundary>);
    expect(screen.getByRole('heading', { name: 'This page failed' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toBe('options is undefined');
    expect(screen.getByRole('button', { name: 'Reload' })).toBeTruthy();
  });

  it('asks for a reload when a part of the console did not load', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    render(<ErrorBoundary><Crash message="Failed to fetch dynamically imported module: /assets/x.js" /></ErrorBoundary>);
    expect(screen.getByRole('heading', { name: 'This part of the console did not load' })).toBeTruthy();
  });

  it('shows its children when nothing fails', () => {
    render(<ErrorBoundary><p>fine</p></ErrorBoundary>);
    expect(screen.getByText('fine')).toBeTruthy();
  });
});
