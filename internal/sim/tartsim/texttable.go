package tartsim

import "strings"

// textTable renders rows like cfilipov/TextTable's plain style as tart uses
// it: cells left-aligned and padded to the column width, joined by one
// space, each row ending in "\n", then the whole string trimmed (so only
// the last row loses its padding). The caller's print adds the final "\n".
func textTable(header []string, rows [][]string) string {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if len(c) > widths[i] {
				widths[i] = len(c)
			}
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-len(c)))
		}
		b.WriteByte('\n')
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	return strings.TrimSpace(b.String())
}
