// The plugin reference: every input, processor and output from GET /plugins with its
// description, its options as a table (from their JSON Schema) and an example.
import { useMemo, useState } from 'react';
import type { PluginView } from '../api/types';
import { optionRows, type JsonSchema } from '../lib/schemaTable';

const ROLES = ['input', 'processor', 'output'];

function pluginKey(plugin: PluginView): string {
  return `${plugin.role}/${plugin.name}`;
}

export function PluginReference({ plugins, onCopy }: { plugins: PluginView[]; onCopy?: (example: string) => void }) {
  const [selected, setSelected] = useState<string>('');
  const plugin = plugins.find((candidate) => pluginKey(candidate) === selected) ?? plugins[0];
  const rows = useMemo(() => (plugin === undefined ? [] : optionRows(plugin.options as JsonSchema)), [plugin]);

  if (plugin === undefined) {
    return <p className="muted">No plugins.</p>;
  }
  return (
    <div className="plugin-reference">
      <label htmlFor="plugin-select">Plugin</label>
      <select id="plugin-select" value={pluginKey(plugin)} onChange={(event) => setSelected(event.target.value)}>
        {ROLES.map((role) => (
          <optgroup key={role} label={`${role}s`}>
            {plugins.filter((candidate) => candidate.role === role).map((candidate) => (
              <option key={pluginKey(candidate)} value={pluginKey(candidate)}>
                {candidate.name}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      <h3>
        {plugin.name} <span className="muted small">{plugin.role}</span>
      </h3>
      <p>{plugin.description}</p>
      <h4>Example</h4>
      <pre className="code">{plugin.example}</pre>
      {onCopy !== undefined && (
        <button type="button" onClick={() => onCopy(plugin.example)}>
          Copy the example to the clipboard
        </button>
      )}
      <h4>Options</h4>
      {rows.length === 0 ? (
        <p className="muted">No options.</p>
      ) : (
        <table className="table options-table">
          <thead>
            <tr>
              <th scope="col">Option</th>
              <th scope="col">Type / default</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name}>
                <th scope="row">
                  <code>{row.name}</code>
                  {row.required && <span className="required"> required</span>}
                  {row.secret && <span className="muted small"> secret</span>}
                </th>
                <td>
                  <code className="small">{row.type}</code>
                  {row.defaultValue !== '' && (
                    <span className="muted small"> · default <code>{row.defaultValue}</code></span>
                  )}
                  {row.description !== '' && <p className="small option-description">{row.description}</p>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
