// The flow designer: the job's YAML drawn as a graph (inputs → processors → outputs) with a
// palette of the registered plugins, a form per node generated from its plugin's JSON
// Schema, reordering, deleting and route branches. Every edit is a function of the YAML
// text (./convert.ts) and goes out through onYamlChange; the graph is always read back
// from the `yaml` prop, so the YAML editor and the designer cannot disagree.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, useReactFlow, useStore } from '@xyflow/react';
import type { Connection, Edge, Node, NodeChange, NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils';
import type { FlowDesignerProps } from '../designerProps';
import type { PluginView, Problem } from '../api/types';
import { useTheme } from '../lib/theme';
import {
  addNode,
  connectBranch,
  disconnectBranch,
  moveProcessor,
  problemsByNode,
  removeNode,
  renameNode,
  setNodeOptions,
  yamlToGraph,
} from './convert';
import type { Branch, EditResult, FlowEdge, FlowGraph, FlowNode, FlowRole } from './convert';
import { cleanFormData, errorTree, exampleOptions, formSchema } from './form';
import { layoutGraph } from './layout';
import './flow.css';

const ROLES: { role: FlowRole; heading: string }[] = [
  { role: 'input', heading: 'Inputs' },
  { role: 'processor', heading: 'Processors' },
  { role: 'output', heading: 'Outputs' },
];

interface JobNodeData extends Record<string, unknown> {
  node: FlowNode;
  problems: string[];
  selected: boolean;
  onSelect: (id: string) => void;
}

type JobFlowNode = Node<JobNodeData, 'job'>;

const nodeTypes = { job: JobNode };

/** What a node is called on screen and to screen readers: `csv input customers`. */
export function nodeTitle(node: FlowNode): string {
  const plugin = node.plugin || '(no type)';
  if (node.deadLetter) return `${plugin} dead-letter output`;
  if (node.role === 'processor') return `${plugin} processor ${(node.index ?? 0) + 1}`;
  const named = node.name && node.name !== node.role ? ` ${node.name}` : '';
  return `${plugin} ${node.role}${named}`;
}

/** The option that says most about a node (its path, condition, query, table …). */
function summary(node: FlowNode): string | undefined {
  for (const key of ['path', 'condition', 'query', 'table', 'topic', 'stream', 'subject', 'index', 'url', 'lookup']) {
    const value = node.options[key];
    if (typeof value === 'string' && value !== '') return value.length > 48 ? `${value.slice(0, 47)}…` : value;
  }
  return undefined;
}

function JobNode({ data }: NodeProps<JobFlowNode>) {
  const { node, problems, selected } = data;
  const invalid = problems.length > 0;
  const text = summary(node);
  const classes = ['flow-node', `flow-node-${node.role}`];
  if (invalid) classes.push('flow-node-invalid');
  if (selected) classes.push('flow-node-selected');
  return (
    <div className={classes.join(' ')}>
      {node.role !== 'input' && (
        <Handle type="target" position={Position.Left} isConnectable={node.role === 'output' && !node.deadLetter} />
      )}
      {/* The button shows only the plugin, a word of its accessible name ("Edit csv input"):
          a visible label must be part of the name (WCAG 2.5.3, axe's label-content-name-mismatch).
          A click anywhere on the node selects it too (onNodeClick). */}
      <div className="flow-node-body">
        <span className="flow-node-role">{node.deadLetter ? 'dead letter' : node.role}</span>
        <button
          type="button"
          className="flow-node-button"
          aria-pressed={selected}
          aria-label={`Edit ${nodeTitle(node)}${invalid ? ` (${problems.length} problem${problems.length > 1 ? 's' : ''})` : ''}`}
          onClick={() => data.onSelect(node.id)}
        >
          <strong className="flow-node-plugin">{node.plugin || '(no type)'}</strong>
        </button>
        {node.name && node.name !== node.role && !node.deadLetter && <span className="flow-node-name">{node.name}</span>}
        {text && <span className="flow-node-summary">{text}</span>}
      </div>
      {invalid && (
        <ul className="flow-node-problems">
          {problems.map((message, i) => (
            <li key={i}>{message}</li>
          ))}
        </ul>
      )}
      {node.role !== 'output' && (
        <Handle type="source" position={Position.Right} isConnectable={node.plugin === 'route'} />
      )}
    </div>
  );
}

function toEdge(e: FlowEdge, titles: Map<string, string>): Edge {
  const what = e.kind === 'route' ? `branch ${e.label}` : e.kind === 'default' ? 'default branch' : 'rows';
  return {
    id: e.id,
    source: e.source,
    target: e.target,
    ariaLabel: `${what} from ${titles.get(e.source)} to ${titles.get(e.target)}`,
    label: e.kind === 'flow' ? undefined : e.label,
    className: `flow-edge-${e.kind}`,
    markerEnd: { type: MarkerType.ArrowClosed },
    selectable: false,
  };
}

/** Fits the view again when nodes come or go, or the canvas changes size. */
function FitOnChange({ signature }: { signature: string }) {
  const { fitView } = useReactFlow();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  useEffect(() => {
    void fitView({ padding: 0.2, maxZoom: 1 });
  }, [signature, width, height, fitView]);
  return null;
}

export default function FlowDesigner({ yaml, onYamlChange, plugins, problems }: FlowDesignerProps) {
  const [theme] = useTheme();
  const graph = useMemo(() => yamlToGraph(yaml), [yaml]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const { byNode, other } = useMemo(() => problemsByNode(problems, graph.nodes), [problems, graph]);
  const selected = graph.nodes.find((n) => n.id === selectedId);

  /** Sends an edit's text out, or shows why it was refused. */
  const apply = (result: EditResult, select = false) => {
    if (result.error) {
      setNotice(result.error);
      return;
    }
    setNotice(null);
    if (result.text !== yaml) onYamlChange(result.text);
    if (select && result.nodeId) setSelectedId(result.nodeId);
  };

  const remove = (id: string) => {
    const result = removeNode(yaml, id);
    if (!result.error) setSelectedId(null);
    apply(result);
  };

  // The sizes React Flow measured, given back with every new node: the nodes are built again
  // from the YAML at each edit, and React Flow hides a node without a size until its resize
  // observer reports one, which it may not do again for an element whose size did not change
  // (seen as an empty canvas in the browser tests, about one run in eight).
  const [sizes, setSizes] = useState<ReadonlyMap<string, { width: number; height: number }>>(new Map());
  const onNodesChange = useCallback((changes: NodeChange<JobFlowNode>[]) => {
    const measured = changes.flatMap((c) => (c.type === 'dimensions' && c.dimensions ? [[c.id, c.dimensions] as const] : []));
    if (measured.length > 0) setSizes((before) => new Map([...before, ...measured]));
  }, []);

  const nodes: JobFlowNode[] = useMemo(() => {
    const positions = layoutGraph(graph);
    return graph.nodes.map((node) => ({
      id: node.id,
      type: 'job',
      position: positions.get(node.id) ?? { x: 0, y: 0 },
      measured: sizes.get(node.id),
      // A role for React Flow's `aria-roledescription="node"` to describe.
      ariaRole: 'group' as const,
      ariaLabel: nodeTitle(node),
      selected: node.id === selectedId,
      data: {
        node,
        problems: (byNode.get(node.id) ?? []).map((p) => p.message),
        selected: node.id === selectedId,
        onSelect: setSelectedId,
      },
    }));
  }, [graph, byNode, selectedId, sizes]);
  const edges = useMemo(() => {
    const titles = new Map(graph.nodes.map((n) => [n.id, nodeTitle(n)]));
    return graph.edges.map((e) => toEdge(e, titles));
  }, [graph]);

  const isRouteToOutput = (c: Connection | Edge) => {
    const source = graph.nodes.find((n) => n.id === c.source);
    const target = graph.nodes.find((n) => n.id === c.target);
    return source?.plugin === 'route' && target?.role === 'output' && !target.deadLetter;
  };

  const onCanvasKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    if (e.key === 'Delete' && selected && !typing) {
      e.preventDefault();
      remove(selected.id);
    }
    if (e.key === 'Escape') setSelectedId(null);
  };

  const addFromPalette = (plugin: PluginView) => {
    const role = plugin.role as FlowRole;
    const afterIndex = selected?.role === 'processor' && role === 'processor' ? selected.index : undefined;
    apply(addNode(yaml, role, plugin.name, { afterIndex, options: exampleOptions(plugin.example, plugin.name) }), true);
  };

  return (
    <div className="flow-designer">
      <nav className="flow-palette" aria-label="Plugins">
        {ROLES.map(({ role, heading }) => (
          <section key={role} aria-label={heading}>
            <h2>{heading}</h2>
            <ul>
              {plugins
                .filter((p) => p.role === role)
                .map((p) => (
                  <li key={p.name}>
                    <button
                      type="button"
                      title={p.description}
                      aria-label={`Add ${p.name} ${role}`}
                      disabled={graph.error !== undefined}
                      onClick={() => addFromPalette(p)}
                    >
                      + {p.name}
                    </button>
                  </li>
                ))}
            </ul>
          </section>
        ))}
      </nav>

      <div className="flow-main">
        {graph.error && (
          <p className="flow-error" role="alert">
            The YAML does not parse ({graph.error}); fix it in the YAML tab and the graph follows.
          </p>
        )}
        {notice && (
          <p className="flow-notice" role="status">
            {notice}{' '}
            <button type="button" onClick={() => setNotice(null)} aria-label="Dismiss the message">
              ×
            </button>
          </p>
        )}
        {other.length > 0 && (
          <ul className="flow-job-problems" aria-label="Problems of the whole job">
            {other.map((p, i) => (
              <li key={i}>
                {p.key && <code>{p.key}</code>} {p.message}
              </li>
            ))}
          </ul>
        )}
        <div className="flow-canvas" onKeyDown={onCanvasKey} role="group" aria-label="Job graph">
          {!graph.error && graph.nodes.length === 0 && (
            <p className="flow-empty">An empty job: add an input and an output from the palette.</p>
          )}
          <ReactFlow<JobFlowNode, Edge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            colorMode={theme}
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
            minZoom={0.2}
            nodesDraggable={false}
            nodesFocusable={false}
            edgesFocusable={false}
            deleteKeyCode={null}
            onNodeClick={(_, node) => setSelectedId(node.id)}
            onPaneClick={() => setSelectedId(null)}
            isValidConnection={isRouteToOutput}
            onConnect={(c) => c.source && c.target && apply(connectBranch(yaml, c.source, c.target))}
          >
            <FitOnChange signature={graph.nodes.map((n) => n.id).join(' ')} />
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
      </div>

      {selected && (
        <NodePanel
          node={selected}
          graph={graph}
          plugin={plugins.find((p) => p.name === selected.plugin && p.role === selected.role)}
          problems={byNode.get(selected.id) ?? []}
          onEdit={apply}
          onRemove={() => remove(selected.id)}
          onClose={() => setSelectedId(null)}
          yaml={yaml}
        />
      )}
    </div>
  );
}

interface NodePanelProps {
  node: FlowNode;
  graph: FlowGraph;
  plugin: PluginView | undefined;
  problems: Problem[];
  yaml: string;
  onEdit: (result: EditResult, select?: boolean) => void;
  onRemove: () => void;
  onClose: () => void;
}

/** The selected node: its problems, name, position, branches and options form. */
function NodePanel({ node, graph, plugin, problems, yaml, onEdit, onRemove, onClose }: NodePanelProps) {
  const title = nodeTitle(node);
  const count = graph.nodes.filter((n) => n.role === 'processor').length;
  const named = node.id.startsWith('inputs.') || node.id.startsWith('outputs.');
  const up = useRef<HTMLButtonElement>(null);
  const down = useRef<HTMLButtonElement>(null);
  // A processor moved to either end disables the button just pressed: keep the focus on
  // the other one, so a keyboard user can go on moving it.
  useEffect(() => {
    const active = document.activeElement;
    const lost = active === null || active === document.body || (active instanceof HTMLButtonElement && active.disabled);
    if (!lost) return;
    if (up.current?.disabled === false && down.current?.disabled) up.current.focus();
    else if (down.current?.disabled === false && up.current?.disabled) down.current.focus();
  }, [node.index]);
  return (
    <aside className="flow-panel" aria-label={`${title}: options`}>
      <header className="flow-panel-header">
        <h2>{title}</h2>
        <button type="button" onClick={onClose} aria-label="Close the options">
          ×
        </button>
      </header>
      <p className="flow-panel-id">
        <code>{node.id}</code>
        {plugin && <span> — {plugin.description}</span>}
      </p>
      {problems.length > 0 && (
        <ul className="flow-panel-problems" role="alert">
          {problems.map((p, i) => (
            <li key={i}>
              {p.key !== node.id && <code>{p.key.slice(node.id.length + 1)}</code>} {p.message}
            </li>
          ))}
        </ul>
      )}
      {named && <NameField key={`name ${node.id}`} node={node} onRename={(name) => onEdit(renameNode(yaml, node.id, name), true)} />}
      <div className="flow-panel-actions">
        {node.index !== undefined && (
          <>
            <button
              ref={up}
              type="button"
              disabled={node.index === 0}
              onClick={() => onEdit(moveProcessor(yaml, node.index!, node.index! - 1), true)}
            >
              Move up
            </button>
            <button
              ref={down}
              type="button"
              disabled={node.index >= count - 1}
              onClick={() => onEdit(moveProcessor(yaml, node.index!, node.index! + 1), true)}
            >
              Move down
            </button>
          </>
        )}
        <button type="button" className="flow-delete" onClick={onRemove}>
          Delete
        </button>
      </div>
      {node.plugin === 'route' && <RouteBranches key={`branches ${node.id}`} node={node} graph={graph} yaml={yaml} onEdit={onEdit} />}
      {plugin ? (
        <OptionsForm key={`form ${node.id}`} node={node} plugin={plugin} problems={problems} onChange={(o) => onEdit(setNodeOptions(yaml, node.id, o))} />
      ) : (
        <p>
          No {node.role} plugin is called <code>{node.plugin || '(no type)'}</code>: edit this section in the YAML tab.
        </p>
      )}
    </aside>
  );
}

function NameField({ node, onRename }: { node: FlowNode; onRename: (name: string) => void }) {
  const [name, setName] = useState(node.name ?? '');
  const commit = () => {
    if (name !== node.name) onRename(name);
  };
  return (
    <label className="flow-field">
      Name
      <input
        value={name}
        onChange={(e) => setName(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
    </label>
  );
}

/** A route's branches: each with a button to remove it, and a form to add one. */
function RouteBranches({ node, graph, yaml, onEdit }: { node: FlowNode; graph: FlowGraph; yaml: string; onEdit: (r: EditResult) => void }) {
  const outputs = graph.nodes.filter((n) => n.role === 'output' && !n.deadLetter);
  const branches = graph.edges.filter((e) => e.source === node.id && e.kind !== 'flow');
  const [target, setTarget] = useState(outputs[0]?.id ?? '');
  const [condition, setCondition] = useState('');
  const nameOf = (id: string) => graph.nodes.find((n) => n.id === id)?.name ?? id;
  const connect = (branch: Branch) => onEdit(connectBranch(yaml, node.id, target, branch));
  return (
    <fieldset className="flow-branches">
      <legend>Branches</legend>
      {branches.length === 0 ? (
        <p>No branches yet: drag from this node to an output, or add one here.</p>
      ) : (
        <ul>
          {branches.map((e) => (
            <li key={e.id}>
              <code>{e.kind === 'default' ? 'default' : e.label}</code> → {nameOf(e.target)}{' '}
              <button
                type="button"
                aria-label={`Disconnect ${e.kind === 'default' ? 'the default' : 'the branch'} to ${nameOf(e.target)}`}
                onClick={() => onEdit(disconnectBranch(yaml, node.id, e.target, e.kind === 'default' ? 'default' : 'route'))}
              >
                Disconnect
              </button>
            </li>
          ))}
        </ul>
      )}
      {outputs.length === 0 ? (
        <p>Add an output to route records to.</p>
      ) : (
        <div className="flow-branch-add">
          <label className="flow-field">
            Output
            <select value={target} onChange={(e) => setTarget(e.target.value)}>
              {outputs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
          <label className="flow-field">
            Condition (SQL)
            <input value={condition} placeholder="amount >= 1000" onChange={(e) => setCondition(e.target.value)} />
          </label>
          <button type="button" disabled={!target} onClick={() => connect({ condition: condition.trim() || undefined })}>
            Connect
          </button>
          <button type="button" disabled={!target} onClick={() => connect({ default: true })}>
            Make default
          </button>
        </div>
      )}
    </fieldset>
  );
}

const UI_SCHEMA: UiSchema = { 'ui:submitButtonOptions': { norender: true } };

/**
 * The form fills in nothing by itself: no defaults, no `const`s of a `oneOf` variant, no
 * empty objects or list items. Else opening a form would write options into the YAML.
 */
const NO_DEFAULTS = {
  emptyObjectFields: 'skipDefaults',
  constAsDefaults: 'never',
  arrayMinItems: { populate: 'never' },
} as const;

/** The node's options as a form generated from its plugin's JSON Schema. */
function OptionsForm({
  node,
  plugin,
  problems,
  onChange,
}: {
  node: FlowNode;
  plugin: PluginView;
  problems: Problem[];
  onChange: (options: Record<string, unknown>) => void;
}) {
  const schema = useMemo(() => formSchema(plugin.options) as RJSFSchema, [plugin]);
  const extraErrors = useMemo(() => errorTree(problems, node.id) as ErrorSchema, [problems, node.id]);
  return (
    <Form
      className="flow-form"
      schema={schema}
      uiSchema={UI_SCHEMA}
      formData={node.options}
      validator={validator}
      extraErrors={extraErrors}
      showErrorList={false}
      experimental_defaultFormStateBehavior={NO_DEFAULTS}
      idPrefix={`flow_${node.id.replace(/\W+/g, '_')}`}
      onChange={(e) => onChange(cleanFormData(e.formData, node.options))}
    />
  );
}
