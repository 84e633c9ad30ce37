// What Preview and Explain answered: the first rows as a table, or the plan.
import type { Explained, PreviewBody } from '../api/types';

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

/** The plan, as `fust explain` prints it. */
export function ExplainView({ explained }: { explained: Explained }) {
  return (
    <section className="explain" aria-label="Plan">
      <pre className="code">{explained.plan}</pre>
    </section>
  );
}
