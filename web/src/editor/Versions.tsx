// A job's stored versions (GET /jobs/{name}/versions): load one into the editor, then Save
// stores it again as the newest version.
import { useQuery } from '@tanstack/react-query';
import { jobVersions } from '../api/client';
import { ErrorNotice } from '../components/ErrorNotice';
import { formatTime } from '../lib/format';

interface Props {
  name: string;
  /** The version the editor was loaded with. */
  current: number | null;
  onLoad: (definition: string, version: number) => void;
}

export function Versions({ name, current, onLoad }: Props) {
  const versions = useQuery({ queryKey: ['versions', name], queryFn: () => jobVersions(name) });
  if (versions.error !== null) {
    return <ErrorNotice error={versions.error} context="Loading the versions" />;
  }
  if (versions.data === undefined) {
    return <p className="muted">Loading…</p>;
  }
  const newestFirst = [...versions.data].sort((a, b) => b.version - a.version);
  return (
    <table className="table">
      <caption className="visually-hidden">Versions of {name}</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Stored</th>
          <th scope="col"><span className="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {newestFirst.map((version) => (
          <tr key={version.version}>
            <td>
              {version.version}
              {version.version === current && <span className="muted small"> (loaded)</span>}
            </td>
            <td>{formatTime(version.created_at)}</td>
            <td>
              <button type="button" onClick={() => onLoad(version.definition, version.version)}>
                Load into the editor
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
