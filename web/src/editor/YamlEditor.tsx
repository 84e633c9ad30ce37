// The YAML editor (CodeMirror 6): highlighting, the server's validation as lint diagnostics,
// `type:` completion, light and dark themes. The page owns the text: edits call onChange, and a
// new `value` (from the designer) is applied as the smallest change.
import { useEffect, useImperativeHandle, useLayoutEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { EditorView, keymap } from '@codemirror/view';
import { Compartment, EditorState } from '@codemirror/state';
import { yaml as yamlLanguage } from '@codemirror/lang-yaml';
import { indentWithTab } from '@codemirror/commands';
import { linter, lintGutter } from '@codemirror/lint';
import { autocompletion } from '@codemirror/autocomplete';
import { oneDark } from '@codemirror/theme-one-dark';
import type { PluginView } from '../api/types';
import { validationSource, type Validate, type ValidationState } from '../lib/diagnostics';
import { pluginCompletions } from '../lib/completion';
import { minimalChange } from '../lib/jobYaml';
import { useTheme } from '../lib/theme';

/** How long after the last keystroke the YAML is sent to /validate. */
export const VALIDATE_DELAY_MS = 400;

/** Lets the page move the cursor, e.g. to a problem from the problems list. */
export interface EditorHandle {
  goTo: (line: number, column: number) => void;
}

interface Props {
  value: string;
  onChange: (value: string) => void;
  validate: Validate;
  onValidation: (state: ValidationState) => void;
  plugins: PluginView[];
  ref: React.Ref<EditorHandle>;
  label: string;
}

const baseTheme = EditorView.theme({
  '&': { height: '100%', fontSize: '14px' },
  '.cm-scroller': { fontFamily: 'var(--mono)' },
});

export default function YamlEditor({ value, onChange, validate, onValidation, plugins, ref, label }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const themeSlot = useRef(new Compartment());
  const [theme] = useTheme();
  // The latest callbacks and plugins, read by the extensions created once.
  const latest = useRef({ onChange, validate, onValidation, plugins });
  useLayoutEffect(() => {
    latest.current = { onChange, validate, onValidation, plugins };
  });

  useImperativeHandle(ref, () => ({
    goTo(line, column) {
      const editor = view.current;
      if (editor === null) {
        return;
      }
      const doc = editor.state.doc;
      const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
      const pos = Math.min(target.from + Math.max(column - 1, 0), target.to);
      editor.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      editor.focus();
    },
  }), []);

  useEffect(() => {
    const state = EditorState.create({
      doc: value,
      extensions: [
        basicSetup,
        keymap.of([indentWithTab]),
        yamlLanguage(),
        baseTheme,
        themeSlot.current.of(theme === 'dark' ? oneDark : []),
        lintGutter(),
        linter(
          validationSource(
            (text, signal) => latest.current.validate(text, signal),
            (result) => latest.current.onValidation(result),
          ),
          { delay: VALIDATE_DELAY_MS },
        ),
        autocompletion({ override: [pluginCompletions(() => latest.current.plugins)] }),
        EditorView.contentAttributes.of({ 'aria-label': label, 'aria-describedby': 'yaml-editor-keys' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            latest.current.onChange(update.state.doc.toString());
          }
        }),
      ],
    });
    const editor = new EditorView({ state, parent: host.current! });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // Created once; `value` and `theme` changes are applied by the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) {
      return;
    }
    const change = minimalChange(editor.state.doc.toString(), value);
    if (change !== null) {
      editor.dispatch({ changes: change });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: themeSlot.current.reconfigure(theme === 'dark' ? oneDark : []) });
  }, [theme]);

  return (
    <>
      <div ref={host} className="yaml-editor" />
      <p id="yaml-editor-keys" className="visually-hidden">
        Tab indents. To leave the editor with the keyboard, press Escape, then Tab.
      </p>
    </>
  );
}
