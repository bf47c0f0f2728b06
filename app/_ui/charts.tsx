import { scaleBand, scaleLinear } from "d3-scale";
import { area, line } from "d3-shape";

/**
 * Charts rendered on the server as SVG (d3-scale and d3-shape compute the geometry): no chart
 * code is sent to the browser, nothing is drawn by script, and the colours come from the
 * stylesheet (class names), so the strict Content-Security-Policy holds. Each chart has a text
 * summary for screen readers.
 */

export interface Point {
  label: string;
  value: number;
}

const WIDTH = 480;
const HEIGHT = 140;
const PAD = { top: 10, right: 8, bottom: 22, left: 44 };

function ticks(max: number, format: (n: number) => string) {
  const y = scaleLinear()
    .domain([0, max || 1])
    .nice()
    .range([HEIGHT - PAD.bottom, PAD.top]);
  return { y, marks: y.ticks(3).map((t) => ({ value: t, y: y(t), text: format(t) })) };
}

function Axes({
  marks,
  labels,
}: {
  marks: { value: number; y: number; text: string }[];
  labels: { x: number; text: string }[];
}) {
  return (
    <g className="fill-slate-600 text-[10px] dark:fill-slate-400">
      {marks.map((m) => (
        <g key={m.value}>
          <line
            x1={PAD.left}
            x2={WIDTH - PAD.right}
            y1={m.y}
            y2={m.y}
            className="stroke-slate-200 dark:stroke-slate-800"
          />
          <text x={PAD.left - 6} y={m.y + 3} textAnchor="end">
            {m.text}
          </text>
        </g>
      ))}
      {labels.map((l) => (
        <text key={`${l.x}-${l.text}`} x={l.x} y={HEIGHT - 6} textAnchor="middle">
          {l.text}
        </text>
      ))}
    </g>
  );
}

export function BarChart({
  title,
  points,
  format,
  summary,
}: {
  title: string;
  points: Point[];
  format: (n: number) => string;
  summary: string;
}) {
  const max = Math.max(0, ...points.map((p) => p.value));
  const { y, marks } = ticks(max, format);
  const x = scaleBand<number>()
    .domain(points.map((_, i) => i))
    .range([PAD.left, WIDTH - PAD.right])
    .padding(0.2);
  const every = Math.ceil(points.length / 6);
  const labels = points
    .map((p, i) => ({ x: (x(i) ?? 0) + x.bandwidth() / 2, text: p.label, i }))
    .filter((l) => l.i % every === 0);
  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">{title}</figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="h-auto w-full"
        role="img"
        aria-label={`${title}: ${summary}`}
      >
        <Axes marks={marks} labels={labels} />
        {points.map((p, i) => {
          const top = y(p.value);
          return (
            <rect
              key={p.label}
              x={x(i)}
              y={top}
              width={x.bandwidth()}
              height={Math.max(0, HEIGHT - PAD.bottom - top)}
              className="fill-accent-600 dark:fill-accent-400"
            >
              <title>{`${p.label}: ${format(p.value)}`}</title>
            </rect>
          );
        })}
      </svg>
      <p className="muted mt-1 text-xs">{summary}</p>
    </figure>
  );
}

export function LineChart({
  title,
  points,
  format,
  summary,
  max,
}: {
  title: string;
  points: Point[];
  format: (n: number) => string;
  summary: string;
  max?: number;
}) {
  const top = max ?? Math.max(0, ...points.map((p) => p.value));
  const { y, marks } = ticks(top, format);
  const x = scaleLinear()
    .domain([0, Math.max(1, points.length - 1)])
    .range([PAD.left, WIDTH - PAD.right]);
  const every = Math.ceil(points.length / 6);
  const labels = points
    .map((p, i) => ({ x: x(i), text: p.label, i }))
    .filter((l) => l.i % every === 0);
  const path = line<Point>()
    .x((_, i) => x(i))
    .y((p) => y(p.value))(points);
  const fill = area<Point>()
    .x((_, i) => x(i))
    .y0(HEIGHT - PAD.bottom)
    .y1((p) => y(p.value))(points);
  return (
    <figure>
      <figcaption className="mb-1 text-sm font-medium">{title}</figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="h-auto w-full"
        role="img"
        aria-label={`${title}: ${summary}`}
      >
        <Axes marks={marks} labels={labels} />
        {fill ? <path d={fill} className="fill-red-600/15 dark:fill-red-400/20" /> : null}
        {path ? (
          <path d={path} className="fill-none stroke-red-700 stroke-2 dark:stroke-red-300" />
        ) : null}
      </svg>
      <p className="muted mt-1 text-xs">{summary}</p>
    </figure>
  );
}
