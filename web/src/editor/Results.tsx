// What Preview and Explain answered: the first rows as a table, or the plan.
import type { PreviewBody } from '../api/types';
import type { Explained } from '../api/client';

function cellText(value: unknown): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

export function PreviewTable({ preview }: { preview: PreviewBody }) {
  if (preview.rows.length === 0) {
    return <p className="muted">The job's output has no rows.</p>;
  }
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Preview rows">
      <table className="table preview-table">
        <caption>
          First {preview.rows.length} rows (limit {preview.limit}); nothing was written.
        </caption>
        <thead>
          <tr>
            {preview.columns.map((column) => (
              <th key={column.name} scope="col" title={`${column.data_type}${column.nullable ? ', nullable' : ''}`}>
                {column.name}
                <span className="muted small column-type">{column.data_type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {preview.rows.map((row, index) => (
            <tr key={index}>
              {preview.columns.map((column) => {
                const value = (row as Record<string, unknown>)[column.name];
                return (
                  <td key={column.name} className={value === null || value === undefined ? 'muted' : undefined}>
                    {cellText(value)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The plan: each text part (e.g. `plan`, or logical and physical plans) under its name. */
export function ExplainView({ explained }: { explained: Explained | string }) {
  if (typeof explained === 'string') {
    return <pre className="code">{explained}</pre>;
  }
  const texts = Object.entries(explained).filter(([, value]) => typeof value === 'string');
  const others = Object.entries(explained).filter(([, value]) => typeof value !== 'string');
  return (
    <div className="explain">
      {texts.map(([key, value]) => (
        <section key={key}>
          <h3>{key.replace(/_/g, ' ')}</h3>
          <pre className="code">{value as string}</pre>
        </section>
      ))}
      {others.length > 0 && <pre className="code">{JSON.stringify(Object.fromEntries(others), null, 2)}</pre>}
    </div>
  );
}
