/** The look shared by every figure of a report. */

/** The Vega-Lite schema every spec names. */
export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Fonts, sizes and colours of every figure. */
export const CONFIG = {
  // No per-item ARIA labels: they repeat every datum's fields and would triple the SVG's size.
  aria: false,
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee', titleFontWeight: 'normal' as const },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 320, symbolStrokeWidth: 3 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  title: { fontSize: 13, anchor: 'start' as const, fontWeight: 'normal' as const },
};
/** Width and height of one panel (px). */
export const W = 330;
export const H = 220;
