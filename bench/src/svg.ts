/**
 * A small hand-written SVG line chart (pods Ready over time, one line per system). Written here rather
 * than with a charting library: it is one polyline per series plus axes, and keeps the bench free of a
 * browser/canvas dependency.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A "nice" axis step (1, 2 or 5 × 10^k) for about `ticks` ticks. */
export function niceStep(max: number, ticks = 6): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

export function lineChartSvg(options: {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 860;
  const height = options.height ?? 460;
  const m = { left: 70, right: 190, top: 56, bottom: 52 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(1e-9, ...all.map((p) => p[0]));
  const yMax = Math.max(1, ...all.map((p) => p[1]));
  const xStep = niceStep(xMax);
  const yStep = niceStep(yMax);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const yTop = Math.ceil(yMax / yStep) * yStep;
  const sx = (x: number): number => m.left + (x / xTop) * plotW;
  const sy = (y: number): number => m.top + plotH - (y / yTop) * plotH;
  const fmt = (v: number): string =>
    Number.isInteger(v) ? String(v) : v.toFixed(Math.max(0, -Math.floor(Math.log10(xStep))));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="22" font-size="16" font-weight="bold">${escape(options.title)}</text>`,
  );
  if (options.subtitle !== undefined) {
    parts.push(`<text x="${m.left}" y="40" fill="#555">${escape(options.subtitle)}</text>`);
  }
  for (let x = 0; x <= xTop + 1e-9; x += xStep) {
    parts.push(
      `<line x1="${sx(x)}" y1="${m.top}" x2="${sx(x)}" y2="${m.top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${sx(x)}" y="${m.top + plotH + 18}" text-anchor="middle">${fmt(x)}</text>`,
    );
  }
  for (let y = 0; y <= yTop + 1e-9; y += yStep) {
    parts.push(
      `<line x1="${m.left}" y1="${sy(y)}" x2="${m.left + plotW}" y2="${sy(y)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
  );
  options.series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`);
    const ly = m.top + 10 + i * 22;
    const lx = m.left + plotW + 16;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escape(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
