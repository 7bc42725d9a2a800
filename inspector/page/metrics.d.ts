// Types of the page's metrics charts (metrics.js), for the tests that run it in Node.

/** The color of each rejection code in the rejected-by-code chart. */
export const CODE_COLORS: Readonly<Record<string, string>>;
export class MetricsView {
  constructor(root: unknown);
}
