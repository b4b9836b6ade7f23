import { SaxesParser, type SaxesTagNS } from 'saxes';
import { ReportError } from './errors.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** The elements Vega's SVG renderer writes (marks, guides, gradients, clip paths, raster images). */
const ELEMENTS = new Set([
  'svg',
  'g',
  'path',
  'rect',
  'line',
  'text',
  'tspan',
  'image',
  'defs',
  'clipPath',
  'linearGradient',
  'radialGradient',
  'stop',
  'pattern',
]);

/** The attributes it writes: geometry, presentation, ids and classes, ARIA. No event handler is among them. */
const ATTRIBUTES = new Set([
  'class',
  'id',
  'version',
  'width',
  'height',
  'viewBox',
  'preserveAspectRatio',
  'transform',
  'd',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'dx',
  'dy',
  'cx',
  'cy',
  'r',
  'fx',
  'fy',
  'fr',
  'offset',
  'stop-color',
  'stop-opacity',
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-opacity',
  'stroke-width',
  'stroke-linecap',
  'stroke-linejoin',
  'stroke-dasharray',
  'stroke-dashoffset',
  'stroke-miterlimit',
  'opacity',
  'clip-path',
  'display',
  'pointer-events',
  'vector-effect',
  'text-anchor',
  'font-family',
  'font-size',
  'font-style',
  'font-variant',
  'font-weight',
  'role',
  'aria-hidden',
  'aria-label',
  'aria-roledescription',
  'style',
  'href',
]);

/** Attributes whose values are plain text (a title or label may hold any character of a run's name). */
const TEXT_ATTRIBUTES = new Set(['aria-label', 'aria-roledescription']);

/** The only CSS the renderer puts in a `style` attribute: keywords of these properties. */
const STYLE = /^(?:\s*(?:image-rendering|mix-blend-mode)\s*:\s*[A-Za-z-]+\s*;?)*\s*$/;

/** A reference to an element of the same document: `#id`. */
const FRAGMENT = /^#[A-Za-z_][\w.:-]*$/;
/** A `url(#id)` paint, clip or gradient reference. */
const URL_FRAGMENT = /url\(\s*(['"]?)#[A-Za-z_][\w.:-]*\1\s*\)/gi;
/** The raster images of dense figures (masks, spectra): PNG data only. */
const PNG_DATA_URL = /^data:image\/png;base64,[A-Za-z0-9+/]+={0,2}$/;

/** Whether `url` is a PNG `data:` URL, the only URL a figure may carry. */
export const isPngDataUrl = (url: unknown): boolean => typeof url === 'string' && PNG_DATA_URL.test(url);

const shown = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

/**
 * Checks that an SVG figure holds nothing but drawing: it is parsed as XML (strictly: a document
 * that is not well-formed is refused), and every element and attribute name must be on an
 * allowlist of what Vega's SVG renderer writes (so no `<script>`, `<foreignObject>`, `<a>`,
 * `<use>`, animation element or `on…` event handler). References may only point inside the
 * document (`href="#id"`, `url(#id)`), except that an `<image>` may carry a PNG as a `data:` URL
 * (the raster of a dense figure). Comments, CDATA, processing instructions, a doctype or an XML
 * declaration are refused too: an HTML page that inlines the figure would read them differently.
 * Text is not inspected: the parser has already decoded it, and it stays text wherever the figure
 * goes. Throws a {@link ReportError} naming the first thing refused; every report figure passes
 * this before it is written, and tools that post-process figures can call it on their output.
 *
 * @example
 * ```ts
 * assertSafeSvg('<svg xmlns="http://www.w3.org/2000/svg"><text>grok onset=2000</text></svg>'); // passes
 * assertSafeSvg('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'); // throws ReportError
 * ```
 */
export function assertSafeSvg(svg: string): void {
  const refuse = (what: string): never => {
    throw new ReportError(`a rendered figure holds ${what}; refusing to write it`);
  };
  const parser = new SaxesParser({ xmlns: true, position: true });
  let root = false;
  parser.on('xmldecl', () => refuse('an XML declaration'));
  parser.on('doctype', () => refuse('a doctype'));
  parser.on('processinginstruction', (pi) => refuse(`a processing instruction <?${pi.target}`));
  parser.on('comment', () => refuse('a comment'));
  parser.on('cdata', () => refuse('a CDATA section'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (tag.uri !== SVG_NS) refuse(`an element <${tag.name}> outside the SVG namespace`);
    if (!ELEMENTS.has(tag.local)) refuse(`an element <${tag.name}>`);
    if (!root && tag.local !== 'svg') refuse(`a root element <${tag.name}> (not <svg>)`);
    root = true;
    for (const attr of Object.values(tag.attributes)) checkAttribute(tag, attr.name, attr.uri, attr.local, attr.value);
  });
  try {
    parser.write(svg).close();
  } catch (e) {
    if (e instanceof ReportError) throw e;
    refuse(`malformed XML (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
  if (!root) refuse('no <svg> element');

  function checkAttribute(tag: SaxesTagNS, name: string, uri: string, local: string, value: string): void {
    const on = `on <${tag.name}>`;
    if (uri === XMLNS_NS) {
      if (value !== SVG_NS && value !== XLINK_NS) refuse(`a namespace declaration ${name}=${shown(value)}`);
      return;
    }
    if (/^on/i.test(local)) refuse(`an event handler ${name}= ${on}`);
    if (uri === XLINK_NS ? local !== 'href' : uri !== '' || !ATTRIBUTES.has(name))
      refuse(`an attribute ${name}= ${on}`);
    if (local === 'href') {
      const inline = tag.local === 'image' && PNG_DATA_URL.test(value);
      if (!inline && !FRAGMENT.test(value)) refuse(`an external reference ${name}=${shown(value)} ${on}`);
      return;
    }
    if (TEXT_ATTRIBUTES.has(name)) return;
    if (name === 'style' && !STYLE.test(value)) refuse(`a style ${shown(value)} ${on}`);
    // CSS values: no escapes (they could spell url( in disguise), and url() only to #fragments.
    if (value.includes('\\')) refuse(`a backslash in ${name}=${shown(value)} ${on}`);
    if (/url\s*\(/i.test(value.replace(URL_FRAGMENT, '')))
      refuse(`an external reference ${name}=${shown(value)} ${on}`);
  }
}
