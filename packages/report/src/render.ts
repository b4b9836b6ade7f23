import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ReportError } from './errors.js';
import { assertSafeSvg, isPngDataUrl } from './svgSafety.js';

/**
 * Renders a Vega-Lite spec to an SVG string in Node, without a browser: `vega-lite` compiles it to
 * Vega, and a headless `vega` View (renderer `none`) draws it with `toSVG()`. The spec must carry
 * its data inline: the loader is refused any URL or file, so rendering never reads the network or
 * the disk. Vega escapes every text and attribute it writes; the result is parsed and checked all
 * the same (`assertSafeSvg`: allowlisted elements and attributes, no script, event handler or
 * external reference), so that a report never carries one whatever the figure or the run names.
 *
 * @example
 * ```ts
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }, mark: 'line', encoding: { x: {
 * field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const loader = vega.loader();
  // Inline data only: a report must not depend on, or leak to, anything outside it.
  loader.load = async (uri: string) => {
    throw new ReportError(`a figure asked to load "${uri}"; report figures carry their data inline`);
  };
  // Images and links: only the PNG data: URLs of raster layers (with node-canvas installed, Vega would
  // otherwise fetch an image URL while drawing).
  const sanitize = loader.sanitize.bind(loader);
  loader.sanitize = async (uri: string, options: Parameters<typeof sanitize>[1]) => {
    if (isPngDataUrl(uri)) return sanitize(uri, options);
    throw new ReportError(`a figure refers to "${uri}"; report figures carry their images inline as PNG data`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    const svg = await view.toSVG();
    assertSafeSvg(svg);
    return svg;
  } finally {
    view.finalize();
  }
}
