// Completion in the YAML editor: after `type:`, the registered plugins' names.
import type { CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import type { PluginView } from '../api/types';

/** `type: cs` (or `- type: cs`) before the cursor: the value typed so far starts there. */
const TYPE_VALUE = /^\s*(?:-\s+)?type:\s*([\w-]*)$/;

export function pluginCompletions(plugins: () => PluginView[]) {
  return (context: CompletionContext): CompletionResult | null => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const match = TYPE_VALUE.exec(before);
    if (match === null) {
      return null;
    }
    const seen = new Set<string>();
    const options = [];
    for (const plugin of plugins()) {
      const key = `${plugin.name}/${plugin.role}`;
      if (!seen.has(key)) {
        seen.add(key);
        options.push({ label: plugin.name, detail: plugin.role, info: plugin.description, type: 'keyword' });
      }
    }
    return { from: context.pos - match[1].length, options, validFor: /^[\w-]*$/ };
  };
}
