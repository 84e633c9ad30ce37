// Placeholder for the flow designer; the flow helper replaces this file.
import type { FlowDesignerProps } from '../designerProps';

export default function FlowDesigner({ yaml, problems }: FlowDesignerProps) {
  return (
    <div className="designer-placeholder">
      <p>The flow designer is not built yet.</p>
      <p>
        {yaml.split('\n').length} lines of YAML, {problems.length} problems.
      </p>
    </div>
  );
}
