// Small SVG charts for the bench page (no chart library): horizontal bars, optionally beside a
// saved run's bars, and lines for a quantity against context length. Text stays in the DOM for
// screen readers (each chart has a title and a data table fallback is the JSON export).
import { html, svg, nothing } from 'lit';

export interface Bar {
  label: string;
  value: number;
  /** The same figure in the saved run being compared with. */
  base?: number;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

export function barChart(title: string, unit: string, bars: Bar[]) {
  if (bars.length === 0) return nothing;
  const max = Math.max(...bars.flatMap((b) => [b.value, b.base ?? 0]), 1e-12);
  const rowH = bars.some((b) => b.base !== undefined) ? 30 : 20;
  const labelW = 190;
  const w = 640;
  const h = bars.length * rowH + 10;
  const scale = (v: number) => ((w - labelW - 90) * v) / max;
  return html`<figure>
    <figcaption>${title} <span class="muted">(${unit})</span></figcaption>
    <svg viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label=${`${title}: ${bars.map((b) => `${b.label} ${fmt(b.value)} ${unit}`).join('; ')}`}>
      ${bars.map((b, i) => {
        const y = 5 + i * rowH;
        const ratio = b.base ? ` (${(b.value / b.base).toFixed(2)}×)` : '';
        return svg`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end" class="lbl">${b.label}</text>
          <rect x="${labelW}" y="${y + 2}" width="${Math.max(1, scale(b.value))}" height="12" class="bar"></rect>
          ${b.base !== undefined ? svg`<rect x="${labelW}" y="${y + 16}" width="${Math.max(1, scale(b.base))}" height="8" class="base"></rect>` : nothing}
          <text x="${labelW + scale(b.value) + 4}" y="${y + 13}" class="val">${fmt(b.value)}${ratio}</text>`;
      })}
    </svg>
  </figure>`;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ['#1a73e8', '#e37400', '#12a4af', '#a142f4', '#d93025', '#188038'];

export function lineChart(title: string, xLabel: string, yUnit: string, series: Series[]) {
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return nothing;
  const [w, h, l, b] = [640, 260, 70, 30];
  const xMax = Math.max(...pts.map((p) => p[0]));
  const yMax = Math.max(...pts.map((p) => p[1]), 1e-12);
  const X = (x: number) => l + ((w - l - 120) * x) / xMax;
  const Y = (y: number) => h - b - ((h - b - 10) * y) / yMax;
  return html`<figure>
    <figcaption>${title}</figcaption>
    <svg viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label=${`${title}: ${series.map((s) => `${s.name}: ${s.points.map(([x, y]) => `${x} → ${fmt(y)} ${yUnit}`).join(', ')}`).join('; ')}`}>
      <line x1="${l}" y1="${h - b}" x2="${w - 110}" y2="${h - b}" class="axis"></line>
      <line x1="${l}" y1="10" x2="${l}" y2="${h - b}" class="axis"></line>
      <text x="${l - 6}" y="16" text-anchor="end" class="lbl">${fmt(yMax)} ${yUnit}</text>
      <text x="${l - 6}" y="${h - b}" text-anchor="end" class="lbl">0</text>
      <text x="${(w - 110 + l) / 2}" y="${h - 6}" text-anchor="middle" class="lbl">${xLabel}</text>
      ${series.map((s, i) => {
        const c = COLORS[i % COLORS.length];
        const last = s.points.at(-1);
        return svg`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}"></polyline>
          ${s.points.map(([x, y]) => svg`<circle cx="${X(x)}" cy="${Y(y)}" r="3" fill="${c}"></circle><text x="${X(x)}" y="${h - b + 14}" text-anchor="middle" class="lbl">${x}</text>`)}
          ${last ? svg`<text x="${X(last[0]) + 8}" y="${Y(last[1]) + 4}" fill="${c}" class="lbl">${s.name}</text>` : nothing}`;
      })}
    </svg>
  </figure>`;
}
