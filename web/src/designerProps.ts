// The props the job editor gives the flow designer (web/src/flow/FlowDesigner.tsx, default export).
import type { PluginView, Problem } from './api/types';

export interface FlowDesignerProps {
  /** The job's YAML as the editor holds it now. */
  yaml: string;
  /** Called with the new YAML after a graph edit; the editor then passes it back as `yaml`. */
  onYamlChange: (yaml: string) => void;
  /** Every registered plugin, with its options' JSON Schema (GET /plugins). */
  plugins: PluginView[];
  /** The server's latest validation problems for `yaml` (empty when it is valid). */
  problems: Problem[];
}
