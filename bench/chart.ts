/** One bar of the ratio chart: a ratio where above 1.0 means edgeio is ahead. */
export interface RatioBar {
  label: string
  ratio: number
  /** The target line for this bar, if any (drawn as a tick). */
  target?: number
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * A horizontal bar chart of ratios with the 1.0 line marked, as a standalone SVG: one bar
 * per row, green at or above the row's target (1.0 when none), orange below.
 */
export function ratioChart(title: string, bars: readonly RatioBar[]): string {
  const labelWidth = 330
  const plotWidth = 420
  const rowHeight = 24
  const top = 40
  const max = Math.max(1.25, ...bars.map((bar) => bar.ratio)) * 1.05
  const x = (ratio: number) => labelWidth + (ratio / max) * plotWidth
  const height = top + bars.length * rowHeight + 30
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight
    const ok = bar.ratio >= (bar.target ?? 1)
    const target =
      bar.target === undefined
        ? ''
        : `<line x1="${x(bar.target)}" x2="${x(bar.target)}" y1="${y + 2}" y2="${y + rowHeight - 4}" stroke="#333" stroke-dasharray="2,2"/>`
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${x(bar.ratio) - labelWidth}" height="${rowHeight - 10}" fill="${ok ? '#2e9d5b' : '#e08a1e'}"/>`,
      `<text x="${x(bar.ratio) + 4}" y="${y + 15}">${bar.ratio.toFixed(2)}×</text>`,
      target,
    ].join('')
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 60}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...rows,
    `<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${height - 24}" stroke="#c00"/>`,
    `<text x="${x(1)}" y="${height - 10}" text-anchor="middle" fill="#c00">1.0</text>`,
    '</svg>',
    '',
  ].join('\n')
}
