// Where the designer draws each node: columns left to right (inputs, each processor in
// order, outputs), each column centred on the same line. Pure, for tests.
import type { FlowGraph } from './convert';

export const COLUMN_WIDTH = 330;
export const ROW_HEIGHT = 110;

export interface Position {
  x: number;
  y: number;
}

/** The position of every node of the graph by id. */
export function layoutGraph(graph: FlowGraph): Map<string, Position> {
  const processors = graph.nodes.filter((n) => n.role === 'processor');
  const outputColumn = processors.length + 1;
  const columns = new Map<number, string[]>();
  for (const node of graph.nodes) {
    const column = node.role === 'input' ? 0 : node.role === 'processor' ? (node.index ?? 0) + 1 : outputColumn;
    columns.set(column, [...(columns.get(column) ?? []), node.id]);
  }
  const positions = new Map<string, Position>();
  for (const [column, ids] of columns) {
    ids.forEach((id, row) => {
      positions.set(id, { x: column * COLUMN_WIDTH, y: (row - (ids.length - 1) / 2) * ROW_HEIGHT });
    });
  }
  return positions;
}
