/** Number formats shared by the report's tables. */

/** An integer with thin spaces between thousands (`12 000`), or "not reached" for null. */
export const int = (n: number | null) => (n === null ? 'not reached' : String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' '));

/** A fraction as a percentage (`97.5 %`), or "–" for null. */
export const pct = (x: number | null, digits = 1) => (x === null ? '–' : `${(x * 100).toFixed(digits)} %`);

/** A number with fixed digits, or "–" for null. */
export const fixed = (x: number | null, digits: number) => (x === null ? '–' : x.toFixed(digits));
