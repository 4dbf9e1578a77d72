// Reports: self-contained HTML pages with inline SVG charts (browser-safe).
export { renderRunReport, runTitle, type RunReportOptions } from './run-report.js';
export { renderCompareReport, type CompareReportOptions } from './compare-report.js';
export {
  lineChart,
  histogramChart,
  dotPlot,
  niceTicks,
  type Series,
  type LineChartOptions,
  type HistogramChartOptions,
  type DotPlotRow,
} from './svg.js';
