// A page's frame: the <main> landmark the skip link focuses, its heading and the tab title.
import { useEffect } from 'react';

interface Props {
  title: string;
  /** Buttons and links beside the heading. */
  actions?: React.ReactNode;
  children: React.ReactNode;
  wide?: boolean;
}

export function Page({ title, actions, children, wide }: Props) {
  useEffect(() => {
    document.title = `${title} · Fust`;
  }, [title]);
  return (
    <main id="content" tabIndex={-1} className={wide ? 'page page-wide' : 'page'}>
      <div className="page-heading">
        <h1>{title}</h1>
        {actions !== undefined && <div className="page-actions">{actions}</div>}
      </div>
      {children}
    </main>
  );
}
