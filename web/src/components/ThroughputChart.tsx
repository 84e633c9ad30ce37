// The run page's chart: rows in and out per second over the run (uPlot).
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { throughputSeries, type Sample } from '../lib/throughput';
import { formatRate } from '../lib/format';
import { useTheme } from '../lib/theme';

interface Props {
  samples: Sample[];
  /** ms since the epoch the x axis starts at (the run's start). */
  start: number;
}

function cssColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

function chartData(samples: Sample[], start: number): uPlot.AlignedData {
  const series = throughputSeries(samples, start);
  return [series.seconds, series.rowsInPerSecond, series.rowsOutPerSecond];
}

export default function ThroughputChart({ samples, start }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const [theme] = useTheme();
  const latest = useRef({ samples, start });
  useLayoutEffect(() => {
    latest.current = { samples, start };
  });

  // (Re)create the chart when the theme changes; it follows the container's width.
  useEffect(() => {
    const element = container.current;
    if (element === null) {
      return undefined;
    }
    const text = cssColor('--fg-muted', '#666');
    const grid = cssColor('--border', '#ddd');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: 220,
      legend: { show: true },
      scales: { x: { time: false } },
      axes: [
        { ...axis, label: 'seconds since start' },
        { ...axis, size: 70, values: (_u, ticks) => ticks.map((tick) => formatRate(tick, '')) },
      ],
      series: [
        { label: 'time (s)' },
        { label: 'rows in/s', stroke: cssColor('--accent', '#2563eb'), width: 2 },
        { label: 'rows out/s', stroke: cssColor('--ok', '#16a34a'), width: 2 },
      ],
    };
    const plot = new uPlot(options, chartData(latest.current.samples, latest.current.start), element);
    chart.current = plot;
    const observer = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(element.clientWidth, 200), height: 220 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [theme]);

  useEffect(() => {
    chart.current?.setData(chartData(samples, start));
  }, [samples, start]);

  return <div ref={container} className="chart" role="img" aria-label="Rows per second over the run" />;
}
