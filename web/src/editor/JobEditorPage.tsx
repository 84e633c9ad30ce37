// The job editor (/#/jobs/NAME and /#/new): the YAML in CodeMirror, validated as you type;
// Preview, Explain and Save; the plugin reference; and the flow designer on a second tab.
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import {
  explainJob, getJob, listPlugins, previewJob, saveJob, setJobEnabled, triggerRun, validateJob,
} from '../api/client';
import type { Explained, PreviewBody, Problem } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page } from '../components/Page';
import { problemMessage, type ValidationState } from '../lib/diagnostics';
import { jobNameOf, NEW_JOB_TEMPLATE } from '../lib/jobYaml';
import { PluginReference } from './PluginReference';
import { ExplainView, PreviewTable } from './Results';
import { Versions } from './Versions';
import YamlEditor, { type EditorHandle } from './YamlEditor';

// The designer (React Flow, JSON Schema forms) loads only when its tab is opened.
const FlowDesigner = lazy(() => import('../flow/FlowDesigner'));

type Tab = 'yaml' | 'designer';

/** The last Preview, Explain or Save, shown under the editor. */
type Result =
  | { kind: 'preview'; preview: PreviewBody }
  | { kind: 'explain'; explained: Explained }
  | { kind: 'saved'; name: string; version: number }
  | { kind: 'error'; action: string; error: unknown };

const PREVIEW_LIMITS = [10, 20, 100, 1000];

export default function JobEditorPage({ name }: { name: string | null }) {
  const job = useQuery({
    queryKey: ['job', name],
    queryFn: () => getJob(name!),
    enabled: name !== null,
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  const title = name === null ? 'New job' : name;

  if (name !== null && job.data === undefined) {
    return (
      <Page title={title}>
        {job.error !== null ? (
          <ErrorNotice error={job.error} context={`Loading ${name}`} onRetry={() => void job.refetch()} />
        ) : (
          <p className="muted">Loading…</p>
        )}
      </Page>
    );
  }
  return (
    <Editor
      name={name}
      saved={job.data?.definition ?? null}
      version={job.data?.version ?? null}
      enabled={job.data?.enabled ?? true}
      title={title}
    />
  );
}

interface EditorProps {
  name: string | null;
  /** The stored definition, or null for a new job. */
  saved: string | null;
  version: number | null;
  /** Whether the scheduler may start the job (a new job starts enabled). */
  enabled: boolean;
  title: string;
}

function Editor({ name, saved, version, enabled: enabledAtLoad, title }: EditorProps) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [yaml, setYaml] = useState(saved ?? NEW_JOB_TEMPLATE);
  const [savedYaml, setSavedYaml] = useState(saved);
  const [loadedVersion, setLoadedVersion] = useState(version);
  const [enabled, setEnabled] = useState(enabledAtLoad);
  const [tab, setTab] = useState<Tab>('yaml');
  const [validation, setValidation] = useState<ValidationState>({ status: 'checking' });
  const [result, setResult] = useState<Result | null>(() => takeSavedNotice(name));
  const [limit, setLimit] = useState(20);
  // The reference is open beside the YAML and closed beside the designer (which has its own
  // palette and forms), until the user says otherwise.
  const [referenceOpen, setReferenceOpen] = useState<Record<Tab, boolean>>({ yaml: true, designer: false });
  const showReference = referenceOpen[tab];
  const editor = useRef<EditorHandle | null>(null);

  const plugins = useQuery({ queryKey: ['plugins'], queryFn: listPlugins, staleTime: Infinity });
  const problems: Problem[] = validation.status === 'invalid' ? validation.problems : [];
  const unsaved = savedYaml === null || yaml !== savedYaml;

  // Ask before leaving the page with unsaved changes (closing the tab, reloading).
  useEffect(() => {
    if (!unsaved || savedYaml === null) {
      return undefined;
    }
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [unsaved, savedYaml]);

  const fail = (action: string) => (error: unknown) => setResult({ kind: 'error', action, error });
  const preview = useMutation({
    mutationFn: () => previewJob(yaml, limit),
    onSuccess: (body) => setResult({ kind: 'preview', preview: body }),
    onError: fail('Preview'),
  });
  const explain = useMutation({
    mutationFn: () => explainJob(yaml),
    onSuccess: (explained) => setResult({ kind: 'explain', explained }),
    onError: fail('Explain'),
  });
  const save = useMutation({
    mutationFn: async () => {
      const target = name ?? jobNameOf(yaml);
      if (target === null) {
        throw new Error('Give the job a `name:` before saving it.');
      }
      return saveJob(target, yaml);
    },
    onSuccess: (stored) => {
      setSavedYaml(yaml);
      setLoadedVersion(stored.version);
      void queryClient.invalidateQueries({ queryKey: ['versions', stored.name] });
      setResult({ kind: 'saved', name: stored.name, version: stored.version });
      queryClient.setQueryData(['job', stored.name], stored);
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
      if (name === null) {
        // The job's own page takes over from /new: it shows the notice this page cannot.
        savedNotice = { kind: 'saved', name: stored.name, version: stored.version };
        navigate(`/jobs/${encodeURIComponent(stored.name)}`);
      }
    },
    onError: fail('Save'),
  });
  const run = useMutation({
    mutationFn: () => triggerRun(name!),
    onSuccess: (record) => navigate(`/runs/${record.id}`),
    onError: fail('Run'),
  });

  const toggle = useMutation({
    mutationFn: () => setJobEnabled(name!, !enabled),
    onSuccess: (stored) => {
      setEnabled(stored.enabled);
      queryClient.setQueryData(['job', stored.name], stored);
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    },
    onError: fail(enabled ? 'Disable' : 'Enable'),
  });

  const validate = useCallback((text: string, signal: AbortSignal) => validateJob(text, signal), []);
  const busy = preview.isPending || explain.isPending || save.isPending;

  const actions = (
    <>
      <button type="button" className="primary" onClick={() => save.mutate()} disabled={busy || !unsaved}>
        {save.isPending ? 'Saving…' : 'Save'}
      </button>
      {name !== null && (
        <>
          <button type="button" onClick={() => run.mutate()} disabled={run.isPending || unsaved} title={unsaved ? 'Save first' : undefined}>
            Run now
          </button>
          <button
            type="button"
            onClick={() => toggle.mutate()}
            disabled={toggle.isPending}
            title={enabled ? 'The scheduler starts it (cron, after:); disable to stop that' : 'The scheduler does not start it; manual runs still work'}
          >
            {enabled ? 'Disable' : 'Enable'}
          </button>
          <Link href={`/jobs/${encodeURIComponent(name)}/runs`} className="button">Runs</Link>
        </>
      )}
    </>
  );

  return (
    <Page title={title} actions={actions} wide>
      {!enabled && (
        <p className="notice">
          This job is disabled: the scheduler starts no cron or <code>after:</code> runs of it. Run now still works.
        </p>
      )}
      <div className={showReference ? 'editor-layout' : 'editor-layout editor-layout-full'}>
        <div className="editor-main">
          <div className="editor-bar">
            <div role="tablist" aria-label="Edit as" className="tabs">
              <TabButton id="yaml" current={tab} onSelect={setTab}>YAML</TabButton>
              <TabButton id="designer" current={tab} onSelect={setTab}>Designer</TabButton>
            </div>
            <ValidationStatus state={validation} unsaved={unsaved && savedYaml !== null} />
          </div>
          <div id="panel-yaml" role="tabpanel" aria-labelledby="tab-yaml" hidden={tab !== 'yaml'} className="editor-panel">
            <YamlEditor
              value={yaml}
              onChange={setYaml}
              validate={validate}
              onValidation={setValidation}
              plugins={plugins.data ?? []}
              ref={editor}
              label={`YAML of ${title}`}
            />
          </div>
          {tab === 'designer' && (
            <div id="panel-designer" role="tabpanel" aria-labelledby="tab-designer" className="editor-panel designer-panel">
              <Suspense fallback={<p className="muted">Loading the designer…</p>}>
                <FlowDesigner yaml={yaml} onYamlChange={setYaml} plugins={plugins.data ?? []} problems={problems} />
              </Suspense>
            </div>
          )}
          {problems.length > 0 && (
            <ul className="problems" aria-label="Problems">
              {problems.map((problem, index) => (
                <li key={index}>
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setTab('yaml');
                      editor.current?.goTo(problem.line ?? 1, problem.column ?? 1);
                    }}
                  >
                    {problem.line !== null && problem.line !== undefined ? `line ${problem.line}${problem.column ? `:${problem.column}` : ''}` : 'job'}
                  </button>{' '}
                  {problemMessage(problem)}
                </li>
              ))}
            </ul>
          )}
          <div className="toolbar">
            <button type="button" onClick={() => preview.mutate()} disabled={busy}>
              {preview.isPending ? 'Previewing…' : 'Preview'}
            </button>
            <label htmlFor="preview-limit">rows</label>
            <select id="preview-limit" value={limit} onChange={(event) => setLimit(Number(event.target.value))}>
              {PREVIEW_LIMITS.map((value) => <option key={value} value={value}>{value}</option>)}
            </select>
            <button type="button" onClick={() => explain.mutate()} disabled={busy}>
              {explain.isPending ? 'Explaining…' : 'Explain'}
            </button>
            <button type="button" className="push-right" onClick={() => setReferenceOpen({ ...referenceOpen, [tab]: !showReference })} aria-expanded={showReference} aria-controls="plugin-reference">
              {showReference ? 'Hide' : 'Show'} the plugin reference
            </button>
          </div>
          <div aria-live="polite">
            <ResultView result={result} />
          </div>
          {name !== null && (
            <details className="versions">
              <summary>Versions</summary>
              <Versions
                name={name}
                current={loadedVersion}
                onLoad={(definition, number) => {
                  setYaml(definition);
                  setLoadedVersion(number);
                  setTab('yaml');
                }}
              />
            </details>
          )}
        </div>
        {showReference && (
          <aside id="plugin-reference" className="editor-aside" aria-labelledby="reference-title">
            <h2 id="reference-title">Plugin reference</h2>
            {plugins.error !== null && <ErrorNotice error={plugins.error} context="Loading the plugins" onRetry={() => void plugins.refetch()} />}
            {plugins.data !== undefined && (
              <PluginReference
                plugins={plugins.data}
                onCopy={(example) => void navigator.clipboard?.writeText(example)}
              />
            )}
          </aside>
        )}
      </div>
    </Page>
  );
}

function TabButton({ id, current, onSelect, children }: { id: Tab; current: Tab; onSelect: (tab: Tab) => void; children: React.ReactNode }) {
  const selected = id === current;
  return (
    <button
      type="button"
      role="tab"
      id={`tab-${id}`}
      aria-selected={selected}
      aria-controls={`panel-${id}`}
      tabIndex={selected ? 0 : -1}
      className={selected ? 'tab tab-selected' : 'tab'}
      onClick={() => onSelect(id)}
      onKeyDown={(event) => {
        if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
          const next: Tab = id === 'yaml' ? 'designer' : 'yaml';
          onSelect(next);
          document.getElementById(`tab-${next}`)?.focus();
        }
      }}
    >
      {children}
    </button>
  );
}

function ValidationStatus({ state, unsaved }: { state: ValidationState; unsaved: boolean }) {
  let text: React.ReactNode;
  switch (state.status) {
    case 'empty':
      text = <span className="muted">Empty</span>;
      break;
    case 'checking':
      text = <span className="muted">Checking…</span>;
      break;
    case 'valid':
      text = <span className="ok">✓ Valid</span>;
      break;
    case 'invalid':
      text = <span className="warn">✗ {state.problems.length} {state.problems.length === 1 ? 'problem' : 'problems'}</span>;
      break;
    case 'failed':
      text = <span className="warn" title={state.message}>Cannot validate: {state.message}</span>;
      break;
  }
  return (
    <div className="validation-status" role="status" aria-live="polite">
      {text}
      {unsaved && <span className="muted"> · unsaved changes</span>}
    </div>
  );
}

/** The "Saved" notice of a new job, for its own page, which /new moves to after saving. */
let savedNotice: Extract<Result, { kind: 'saved' }> | null = null;

function takeSavedNotice(name: string | null): Result | null {
  const notice = savedNotice;
  if (notice === null || notice.name !== name) {
    return null;
  }
  savedNotice = null;
  return notice;
}

function ResultView({ result }: { result: Result | null }) {
  if (result === null) {
    return null;
  }
  switch (result.kind) {
    case 'preview':
      return <PreviewTable preview={result.preview} />;
    case 'explain':
      return <ExplainView explained={result.explained} />;
    case 'saved':
      return <p className="notice">Saved {result.name}, version {result.version}.</p>;
    case 'error':
      return <ErrorNotice error={result.error} context={result.action} />;
  }
}

