/**
 * The report's two charts as plain SVG strings: grouped bars (IFEval strict accuracy per category,
 * one bar per model) and line charts (training loss per step). Written by hand because the page
 * must be one self-contained file and the charts are simple; a charting library would bring a
 * browser runtime for two figures.
 */

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const color = (i: number) => PALETTE[i % PALETTE.length]!;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function legend(names: string[], x: number, y: number): string {
  return names.map((n, i) => `<rect x="${x}" y="${y + i * 16}" width="10" height="10" fill="${color(i)}"/><text x="${x + 14}" y="${y + i * 16 + 9}" font-size="11">${esc(n)}</text>`).join("");
}

/** Grouped bars: groups (categories) × series (models), values in 0 … 1. */
export function barChart(title: string, groups: string[], series: { name: string; values: (number | null)[] }[]): string {
  const plotH = 220;
  const groupW = Math.max(40, series.length * 8 + 12);
  const left = 40;
  const top = 30;
  const plotW = groups.length * groupW;
  const legendX = left + plotW + 20;
  const width = legendX + 220;
  const height = Math.max(top + plotH + 90, top + series.length * 16 + 20);
  const barW = (groupW - 12) / Math.max(1, series.length);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`, `<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const y = top + plotH - tick * plotH;
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 4}" y="${y + 4}" font-size="10" text-anchor="end">${tick}</text>`);
  }
  groups.forEach((g, gi) => {
    const gx = left + gi * groupW + 6;
    series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const h = v * plotH;
      parts.push(`<rect x="${(gx + si * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${color(si)}"><title>${esc(`${s.name} · ${g}: ${v.toFixed(3)}`)}</title></rect>`);
    });
    const lx = gx + (groupW - 12) / 2;
    parts.push(`<text x="${lx}" y="${top + plotH + 12}" font-size="10" text-anchor="end" transform="rotate(-35 ${lx} ${top + plotH + 12})">${esc(g)}</text>`);
  });
  parts.push(legend(series.map((s) => s.name), legendX, top), "</svg>");
  return parts.join("");
}

/** Lines: one per series, x = step, y = value (scaled to the data). */
export function lineChart(title: string, series: { name: string; points: { step: number; value: number }[] }[]): string {
  const left = 50;
  const top = 30;
  const plotW = 520;
  const plotH = 240;
  const width = left + plotW + 240;
  const height = Math.max(top + plotH + 40, top + series.length * 16 + 20);
  const all = series.flatMap((s) => s.points);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`, `<text x="${left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`];
  if (all.length === 0) {
    parts.push(`<text x="${left}" y="${top + 20}" font-size="12">no finished training runs yet</text></svg>`);
    return parts.join("");
  }
  const maxX = Math.max(1, ...all.map((p) => p.step));
  const minY = Math.min(...all.map((p) => p.value));
  const maxY = Math.max(...all.map((p) => p.value));
  const spanY = maxY - minY || 1;
  const x = (step: number) => left + (step / maxX) * plotW;
  const y = (value: number) => top + plotH - ((value - minY) / spanY) * plotH;
  for (let i = 0; i <= 4; i++) {
    const v = minY + (spanY * i) / 4;
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toPrecision(3)}</text>`);
  }
  parts.push(`<text x="${left + plotW}" y="${top + plotH + 16}" font-size="10" text-anchor="end">step (max ${maxX})</text>`);
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join("");
    parts.push(`<path d="${d}" fill="none" stroke="${color(i)}" stroke-width="1.5"><title>${esc(s.name)}</title></path>`);
  });
  parts.push(legend(series.map((s) => s.name), left + plotW + 20, top), "</svg>");
  return parts.join("");
}
